using RingAttention.Attention;

namespace RingAttention.Grains.Ring;

/// <summary>Cuts a sequence into the token spans each shard owns, for the layout a job asked for.</summary>
public static class ShardLayouts
{
    /// <summary>Spans of every shard (index = shard). Every shard gets at least one token when shards &lt;= tokens.</summary>
    public static IReadOnlyList<IReadOnlyList<TokenSpan>> Plan(ShardLayout layout, int tokens, int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, tokens);
        return layout switch
        {
            ShardLayout.Contiguous => ContiguousLayout.Plan(tokens, shards),
            ShardLayout.Zigzag => ZigzagLayout.Plan(tokens, shards),
            _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "unknown layout"),
        };
    }

    /// <summary>
    /// Query spans of a job whose queries are not its K/V rows (<see cref="JobSpec.QueriesPath"/>): the n query rows
    /// split evenly and contiguously over the shards, at their global positions; empty for other jobs (each shard's
    /// queries are its own K/V rows, <see cref="ShardPlan.OwnQuerySpans"/>).
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<TokenSpan>> QueryPlan(JobSpec spec)
    {
        if (spec.QueriesPath is null)
        {
            return [];
        }

        int first = spec.FirstQueryPosition;
        return [.. EvenSplit(spec.Queries, spec.Shards).Select(s => (IReadOnlyList<TokenSpan>)[new TokenSpan(first + s.Start, s.Count)])];
    }

    /// <summary>
    /// <paramref name="parts"/> consecutive spans covering [0, tokens); the first tokens % parts are one longer, so
    /// any token count works (not only multiples of the shard count).
    /// </summary>
    public static TokenSpan[] EvenSplit(int tokens, int parts)
    {
        var spans = new TokenSpan[parts];
        int size = tokens / parts;
        int longer = tokens % parts;
        int start = 0;
        for (int i = 0; i < parts; i++)
        {
            int count = size + (i < longer ? 1 : 0);
            spans[i] = new TokenSpan(start, count);
            start += count;
        }

        return spans;
    }
}
