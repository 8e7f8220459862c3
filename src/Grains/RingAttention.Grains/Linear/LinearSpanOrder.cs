using RingAttention.Attention;

namespace RingAttention.Grains.Linear;

/// <summary>
/// Every shard's spans in sequence order, whatever the layout (zigzag gives a shard two spans far apart): span j is
/// the j-th run of tokens from the start, owned by <see cref="Owner"/>[j]. The exchanges address states by this order.
/// </summary>
public sealed class LinearSpanOrder
{
    private readonly (int Shard, int Local, TokenSpan Span)[] _spans;

    public LinearSpanOrder(IReadOnlyList<IReadOnlyList<TokenSpan>> shardSpans)
    {
        ArgumentNullException.ThrowIfNull(shardSpans);
        _spans = [.. shardSpans
            .SelectMany((spans, shard) => spans.Select((span, local) => (shard, local, span)))
            .Where(s => s.span.Count > 0)
            .OrderBy(s => s.span.Start)];
    }

    /// <summary>Spans with tokens in the whole sequence.</summary>
    public int Count => _spans.Length;

    /// <summary>The shard that owns span <paramref name="j"/>.</summary>
    public int Owner(int j) => _spans[j].Shard;

    public TokenSpan Span(int j) => _spans[j].Span;

    /// <summary>
    /// For each of shard <paramref name="shard"/>'s spans, in the shard's own order (the order its rows sit in its
    /// buffers), its index in sequence order, or −1 for an empty span.
    /// </summary>
    public int[] OfShard(int shard, int spans)
    {
        int[] result = new int[spans];
        Array.Fill(result, -1);
        for (int j = 0; j < _spans.Length; j++)
        {
            if (_spans[j].Shard == shard)
            {
                result[_spans[j].Local] = j;
            }
        }

        return result;
    }

    /// <summary>Shards that own at least one span with tokens.</summary>
    public IEnumerable<int> Shards => _spans.Select(s => s.Shard).Distinct();
}
