using RingAttention.Attention;
using RingAttention.Contracts.Sessions;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// Which shard holds which rows. Every segment is split so that the shards' token counts stay as equal as they can be
/// (a causal decode step reads every page, so equal tokens is equal work): each shard short of the new even share takes
/// its shortfall as one contiguous run, in shard order. A pure function of the segments, so every activation of a
/// shard, on any silo, computes the same pieces and fills the same pages.
/// </summary>
public static class SessionAssignment
{
    /// <summary>Each shard's pieces, in append order.</summary>
    public static IReadOnlyList<IReadOnlyList<SegmentPiece>> Pieces(string directory, IReadOnlyList<SegmentRecord> segments, int shards)
    {
        var pieces = Enumerable.Range(0, shards).Select(_ => new List<SegmentPiece>()).ToArray();
        long[] counts = new long[shards];
        for (int s = 0; s < segments.Count; s++)
        {
            var segment = segments[s];
            foreach (var (shard, row, count) in Split(counts, segment.Count))
            {
                pieces[shard].Add(new SegmentPiece(Path.Combine(directory, segment.File), s, row, new TokenSpan(segment.Start + row, count)));
                counts[shard] += count;
            }
        }

        return pieces;
    }

    /// <summary>Rows [row, row + count) of a new segment of <paramref name="rows"/> rows for each shard that takes some.</summary>
    public static IEnumerable<(int Shard, int Row, int Count)> Split(IReadOnlyList<long> counts, int rows)
    {
        int shards = counts.Count;
        long total = counts.Sum() + rows;
        int row = 0;
        for (int shard = 0; shard < shards && row < rows; shard++)
        {
            long target = (total / shards) + (shard < total % shards ? 1 : 0);
            int take = (int)Math.Min(rows - row, Math.Max(0, target - counts[shard]));
            if (take > 0)
            {
                yield return (shard, row, take);
                row += take;
            }
        }
    }
}
