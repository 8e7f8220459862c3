namespace RingAttention.Contracts;

/// <summary>
/// A linear-attention state sent to a shard (<see cref="IShardGrain.PostStateAsync"/>): float32 S [stateHeads, D, D] and
/// z [stateHeads, D] over <see cref="Tokens"/> consecutive tokens. What <see cref="Slot"/> means depends on the
/// exchange: with <see cref="LinearExchange.Gather"/> it is the span (in sequence order) whose own keys the state
/// covers; with <see cref="LinearExchange.Ring"/> it is the chain position (below the span count: the prefix before
/// that span; from it on: the whole sequence's state, for span Slot − spans).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.LinearStatePost")]
public sealed record LinearStatePost
{
    [Id(0)] public string JobId { get; init; } = "";

    [Id(1)] public long Attempt { get; init; }

    [Id(2)] public int Slot { get; init; }

    [Id(3)] public int Tokens { get; init; }

    [Id(4)] public float[] S { get; init; } = [];

    [Id(5)] public float[] Z { get; init; } = [];

    /// <summary>Bytes of S and z (what the message moves).</summary>
    public long Bytes => 4L * (S.Length + Z.Length);
}
