using RingAttention.Attention;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Up to QueryTile consecutive query rows inside ONE span, so their global positions are contiguous:
/// rows <c>[Row, Row + Count)</c> of the q block sit at positions <c>[Start, Start + Count)</c>.
/// </summary>
internal readonly record struct QueryTile(int Row, int Start, int Count)
{
    public int Last => Start + Count - 1;

    /// <summary>Cuts every span of the q block into tiles of at most <paramref name="tileRows"/> rows.</summary>
    public static QueryTile[] Plan(IReadOnlyList<TokenSpan> spans, int tileRows)
    {
        int count = 0;
        foreach (var span in spans)
        {
            count += (span.Count + tileRows - 1) / tileRows;
        }

        var tiles = new QueryTile[count];
        int row = 0;
        int next = 0;
        foreach (var span in spans)
        {
            for (int offset = 0; offset < span.Count; offset += tileRows)
            {
                tiles[next++] = new QueryTile(row + offset, span.Start + offset, Math.Min(tileRows, span.Count - offset));
            }

            row += span.Count;
        }

        return tiles;
    }
}
