using RingAttention.Attention;

namespace RingAttention.Grains.Ring;

/// <summary>Shard i owns the i-th of R consecutive runs. Simple, but under a causal mask shard R-1 does R times shard 0's work.</summary>
public static class ContiguousLayout
{
    public static IReadOnlyList<IReadOnlyList<TokenSpan>> Plan(int tokens, int shards) =>
        ShardLayouts.EvenSplit(tokens, shards).Select(span => (IReadOnlyList<TokenSpan>)[span]).ToArray();
}
