namespace RingAttention.Contracts.Sessions;

/// <summary>One shard of a session: where it lives and its pages.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionShardStats")]
public sealed record SessionShardStats
{
    [Id(0)] public int Index { get; init; }

    [Id(1)] public string Silo { get; init; } = "";

    [Id(2)] public string Device { get; init; } = "";

    [Id(3)] public int Tokens { get; init; }

    [Id(4)] public int Pages { get; init; }

    /// <summary>Bytes of its pages (K and V, whole pages).</summary>
    [Id(5)] public long AllocatedBytes { get; init; }

    /// <summary>Bytes of its filled rows.</summary>
    [Id(6)] public long UsedBytes { get; init; }

    /// <summary>Free pages left in its device's pool after this shard's, and the pool's size.</summary>
    [Id(7)] public long PoolFreeBytes { get; init; }

    [Id(8)] public long PoolBytes { get; init; }

    /// <summary>Segments this activation loaded from storage (more than the session's appends after a re-activation).</summary>
    [Id(9)] public int SegmentsLoaded { get; init; }

    [Id(10)] public SessionRefusal? Error { get; init; }

    /// <summary>Times this activation's pages were evicted by its pool for another session (and reloaded when next used).</summary>
    [Id(11)] public int Evictions { get; init; }
}
