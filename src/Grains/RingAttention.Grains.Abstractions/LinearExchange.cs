namespace RingAttention.Contracts;

/// <summary>
/// How the shards of a linear-attention job learn the states of the tokens before theirs (causal) or of the whole
/// sequence (not causal). ADR 17 measures both.
/// </summary>
[GenerateSerializer]
public enum LinearExchange
{
    /// <summary>
    /// One round (LASP-2's all-gather): every shard sends each span's own state to every shard that needs it, and each
    /// folds the states before its spans itself. Latency of one message whatever R; a shard receives up to 2R−1 states.
    /// </summary>
    Gather = 0,

    /// <summary>
    /// Prefixes passed along the spans in sequence order (LASP's ring): the owner of span j waits for the state before
    /// span j, adds its own and passes it on; not causal, the total then travels the chain a second time. One state a
    /// hop, but the hops are sequential.
    /// </summary>
    Ring = 1,
}
