using RingAttention.Attention;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Tile-level visibility from GLOBAL positions. Every mask we support is a band: the first and last visible key
/// grow with the query position, and the visible queries of a key form one interval. So a (query tile, key span)
/// pair needs keys only in [FirstVisibleKey(first query), LastVisibleKey(last query)], which is how causal and
/// window masks skip whole tiles at zero cost, and a key tile needs no mask at all when every query sees all of it.
/// </summary>
internal readonly struct MaskBounds(AttentionMask mask)
{
    /// <summary>Visible key positions of the tile inside <paramref name="span"/>: [first, last], empty when first &gt; last.</summary>
    public (long First, long Last) KeyRange(QueryTile tile, TokenSpan span) =>
        (Math.Max(span.Start, mask.FirstVisibleKey(tile.Start)), Math.Min(span.End - 1L, mask.LastVisibleKey(tile.Last)));

    /// <summary>True when every query of the tile sees every key in [firstKey, lastKey].</summary>
    public bool FullyVisible(QueryTile tile, long firstKey, long lastKey) =>
        mask.FirstVisibleKey(tile.Last) <= firstKey && lastKey <= mask.LastVisibleKey(tile.Start);

    /// <summary>Queries that see key <paramref name="key"/>: [first, last] (unbounded sides are ±long range).</summary>
    public (long First, long Last) QueryRange(long key) => (
        mask.Causal ? key : mask.Window is int w ? key - w + 1 : long.MinValue,
        mask.Window is int w2 ? key + w2 - 1 : long.MaxValue);
}
