namespace RingAttention.Contracts;

/// <summary>How the sequence is cut into shards.</summary>
[GenerateSerializer]
public enum ShardLayout
{
    /// <summary>Shard i holds one contiguous run of tokens. With a causal mask shard 0 idles while shard R-1 works.</summary>
    Contiguous = 0,

    /// <summary>
    /// The sequence is cut into 2R chunks; shard i holds chunks i and 2R-1-i, so every shard has the same causal work
    /// (ring-flash-attention's zigzag, Transformer Engine's DualChunkSwap).
    /// </summary>
    Zigzag = 1,
}
