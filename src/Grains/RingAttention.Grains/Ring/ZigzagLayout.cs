using RingAttention.Attention;

namespace RingAttention.Grains.Ring;

/// <summary>
/// The sequence is cut into 2R chunks and shard i owns chunks i and 2R-1-i: an early chunk (little causal work) paired
/// with a late one (much causal work), so every shard has the same work at every ring step. With a causal mask,
/// the number of visible (query, key) pairs of shard i is c_i·(c_i+1)/2 + c_j·(c_j+1)/2 + cross terms that sum
/// to the same total for every i when the chunks are equal.
/// </summary>
public static class ZigzagLayout
{
    public static IReadOnlyList<IReadOnlyList<TokenSpan>> Plan(int tokens, int shards)
    {
        var chunks = ShardLayouts.EvenSplit(tokens, 2 * shards);
        var plan = new IReadOnlyList<TokenSpan>[shards];
        for (int i = 0; i < shards; i++)
        {
            TokenSpan early = chunks[i];
            TokenSpan late = chunks[(2 * shards) - 1 - i];
            plan[i] = late.Count == 0 ? [early] : [early, late];
        }

        return plan;
    }
}
