using RingAttention.Attention;

namespace RingAttention.Contracts;

/// <summary>What one shard grain needs to run its part of the ring.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.ShardPlan")]
public sealed record ShardPlan
{
    [Id(0)] public string JobId { get; init; } = "";

    [Id(1)] public int Index { get; init; }

    /// <summary>Ring size R.</summary>
    [Id(2)] public int Count { get; init; }

    [Id(3)] public JobSpec Spec { get; init; } = new();

    /// <summary>Global positions of every shard's rows (index = shard), so a shard can label the blocks it receives.</summary>
    [Id(4)] public IReadOnlyList<IReadOnlyList<TokenSpan>> ShardSpans { get; init; } = [];

    /// <summary>Path the coordinator created for the output; shards write their rows into it before it is renamed.</summary>
    [Id(5)] public string PartialOutputPath { get; init; } = "";

    /// <summary>Secret of this job: the data plane serves a job's blocks only to a peer that presents it.</summary>
    [Id(6)] public string Token { get; init; } = "";

    /// <summary>
    /// Attempt of the ring, increasing across retries and across coordinator activations (it starts from the clock):
    /// a shard ignores starts, announcements and blocks of attempts older than the one it runs.
    /// </summary>
    [Id(7)] public long Attempt { get; init; }

    /// <summary>
    /// Global positions of every shard's query rows when the queries are not the K/V's own rows
    /// (<see cref="JobSpec.QueriesPath"/>); empty otherwise (a shard's queries are its K/V rows).
    /// </summary>
    [Id(8)] public IReadOnlyList<IReadOnlyList<TokenSpan>> QuerySpans { get; init; } = [];

    /// <summary>Global positions of this shard's K/V rows.</summary>
    public IReadOnlyList<TokenSpan> OwnSpans => ShardSpans[Index];

    /// <summary>Global positions of this shard's query rows (and of its output rows).</summary>
    public IReadOnlyList<TokenSpan> OwnQuerySpans => QuerySpans.Count == 0 ? ShardSpans[Index] : QuerySpans[Index];

    public int Next => (Index + 1) % Count;

    public int Previous => (Index + Count - 1) % Count;

    /// <summary>Shard whose K/V block shard <see cref="Index"/> processes at ring step <paramref name="step"/>.</summary>
    public int BlockOwnerAt(int step) => ((Index - step) % Count + Count) % Count;
}
