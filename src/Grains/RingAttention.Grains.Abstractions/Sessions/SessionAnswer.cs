namespace RingAttention.Contracts.Sessions;

/// <summary>
/// The attention of a session's queries: o <c>[Rows, Heads, HeadDim]</c> and lse <c>[Heads, Rows]</c> in float32 (lse
/// in natural-log units of the scaled logits, -inf for a row that saw no key), or the refusal.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionAnswer")]
public sealed record SessionAnswer
{
    [Id(0)] public int FirstPosition { get; init; }

    [Id(1)] public int Rows { get; init; }

    [Id(2)] public int Heads { get; init; }

    [Id(3)] public int HeadDim { get; init; }

    [Id(4)] public float[] Output { get; init; } = [];

    [Id(5)] public float[] Lse { get; init; } = [];

    /// <summary>Seconds from the call's arrival at the session to the merged answer.</summary>
    [Id(6)] public double Seconds { get; init; }

    /// <summary>Merge rounds of the tree (ceil log2 of the shards).</summary>
    [Id(7)] public int MergeRounds { get; init; }

    [Id(8)] public SessionRefusal? Error { get; init; }

    /// <summary>A shard's answer to its parent in the merge tree: its partial was merged into the parent's on the device
    /// they share, so it carries none (ADR 27).</summary>
    [Id(9)] public bool MergedIntoParent { get; init; }

    /// <summary>A node's own answer (<see cref="ISessionShardGrain.AttendNodeAsync"/>): the children of the merge tree up
    /// to this level are already in its partial, merged on the device (0: none).</summary>
    [Id(10)] public int MergedThrough { get; init; }
}
