using RingAttention.Tensors;

namespace RingAttention.Contracts.Sessions;

/// <summary>A session as its grain sees it: shape, length, where its pages are, and how full they are.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionStatus")]
public sealed record SessionStatus
{
    [Id(0)] public string SessionId { get; init; } = "";

    /// <summary>False for a session that does not exist (never created, or dropped).</summary>
    [Id(1)] public bool Exists { get; init; }

    /// <summary>Tokens cached (positions 0..Tokens-1).</summary>
    [Id(2)] public int Tokens { get; init; }

    [Id(3)] public int Shards { get; init; }

    [Id(4)] public int Heads { get; init; }

    [Id(5)] public int KvHeads { get; init; }

    [Id(6)] public int HeadDim { get; init; }

    [Id(7)] public ElementType DType { get; init; }

    [Id(8)] public bool Causal { get; init; }

    [Id(9)] public int? Window { get; init; }

    [Id(10)] public int PageTokens { get; init; }

    /// <summary>Durable segments (one per create or append).</summary>
    [Id(11)] public int Segments { get; init; }

    /// <summary>Per shard (empty unless the call gathered them: stats, create, append).</summary>
    [Id(12)] public IReadOnlyList<SessionShardStats> ShardStats { get; init; } = [];

    /// <summary>Seconds the call took (create, append: including the prefill attend when it had q).</summary>
    [Id(13)] public double Seconds { get; init; }

    /// <summary>Where the prefill's o and lse were written by this call, if anywhere.</summary>
    [Id(14)] public string? Output { get; init; }

    [Id(15)] public SessionRefusal? Error { get; init; }

    /// <summary>Of <see cref="Seconds"/> (create, append): the durable copy (the segment and the manifest): writing the
    /// segment, and the time waited for its flush and the manifest beyond what the page fills and the prefill hid.</summary>
    [Id(16)] public double SegmentSeconds { get; init; }

    /// <summary>Of <see cref="Seconds"/> (create, append): the shards filling their pages from the segment.</summary>
    [Id(17)] public double LoadSeconds { get; init; }

    /// <summary>The silo the session grain runs on.</summary>
    [Id(18)] public string Silo { get; init; } = "";

    /// <summary>Of <see cref="Seconds"/> (create, append with q): the prefill's attends, from the session grain's call to
    /// the merged answer (the rest of a prefill is reading q and writing its output).</summary>
    [Id(19)] public double PrefillAttendSeconds { get; init; }

    /// <summary>Page bytes held, over all shards.</summary>
    public long AllocatedBytes => ShardStats.Sum(s => s.AllocatedBytes);

    /// <summary>Bytes of the cached rows, over all shards (allocated - used is the last pages' free room).</summary>
    public long UsedBytes => ShardStats.Sum(s => s.UsedBytes);
}
