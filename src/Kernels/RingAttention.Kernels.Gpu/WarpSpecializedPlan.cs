using System.Numerics;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// How a warp-specialized launch covers its query block (gen_hopper.py). A long block fills its 128-row tiles and
/// there are more tiles than multiprocessors: one head a tile, every key in one tile (Pack 1, Splits 1). A short one
/// (a follow-up chunk, a session attend of more rows than the decode kernels take) would fill a tile's rows a
/// fraction each and leave most multiprocessors idle, so
/// <list type="bullet">
/// <item>GQA heads that share a kv head pack into one tile (<see cref="Pack"/>, a power of two dividing the group):
/// 16 tokens x 8 heads fill the 128 rows that 16 tokens of one head would fill an eighth of; K/V is read once for
/// them all;</item>
/// <item>and the key range splits over <see cref="Splits"/> blocks (flash-decoding) until the tiles cover the
/// multiprocessors, each split at least <see cref="MinKeyTilesPerSplit"/> key tiles; their partial (o, lse) fold by
/// LSE in <see cref="DecodeMerge"/>, the decode kernels' merge.</item>
/// </list>
/// FP8 never packs: its q·k descale is folded into the softmax scale per tile, and the heads of a pack could differ.
/// </summary>
internal readonly record struct WarpSpecializedPlan(int Pack, int Splits)
{
    /// <summary>Key tiles a split takes at least: its Q load, prologue and partial store are paid once per split.</summary>
    public const int MinKeyTilesPerSplit = 4;

    public static WarpSpecializedPlan Whole => new(1, 1);

    /// <summary>The plan for <paramref name="queryRows"/> rows of <paramref name="heads"/> heads in groups of
    /// <paramref name="group"/> against <paramref name="keys"/> keys, on tiles of <paramref name="blockRows"/> x
    /// <paramref name="blockKeys"/>, with <paramref name="multiprocessors"/> to fill.</summary>
    public static WarpSpecializedPlan For(int queryRows, int heads, int group, long keys, int blockRows, int blockKeys, int multiprocessors, bool fp8)
    {
        if (queryRows <= 0 || heads <= 0 || keys <= 0)
        {
            return Whole;
        }

        int pack = PackFor(queryRows, group, blockRows, fp8);
        long tiles = new WarpSpecializedPlan(pack, 1).Tiles(queryRows, heads, blockRows);
        long keyTiles = (keys + blockKeys - 1) / blockKeys;
        long splits = Math.Min(Math.Min(multiprocessors / tiles, keyTiles / MinKeyTilesPerSplit), DecodeMerge.MaxChunks);
        return new(pack, (int)Math.Max(1, splits));
    }

    /// <summary>GQA heads a tile packs for <paramref name="queryRows"/> rows in groups of <paramref name="group"/>: the
    /// largest power of two that divides the group and whose tokens still fit a tile's rows (1 for FP8, or when half a
    /// tile's rows are not left).</summary>
    public static int PackFor(int queryRows, int group, int blockRows, bool fp8)
    {
        if (fp8 || group <= 1 || queryRows <= 0 || 2 * queryRows > blockRows)
        {
            return 1;
        }

        int groupPow2 = 1 << BitOperations.TrailingZeroCount(group);
        int fits = blockRows / (int)BitOperations.RoundUpToPowerOf2((uint)queryRows);
        return Math.Min(groupPow2, fits);
    }

    /// <summary>Work tiles of one launch: m-blocks x head groups x splits (the kernel's %total).</summary>
    public long Tiles(int queryRows, int heads, int blockRows) =>
        (long)((queryRows + (blockRows / Pack) - 1) / (blockRows / Pack)) * (heads / Pack) * Splits;
}
