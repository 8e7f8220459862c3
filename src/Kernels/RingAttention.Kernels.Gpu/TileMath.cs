using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Which key tiles a query tile must visit, shared by the portable and the CUDA kernel (and so tested on the CPU
/// accelerator in CI). Positions are global: query row r of the span sits at QPos0 + r, key row j at KPos0 + j.
/// </summary>
internal static class TileMath
{
    /// <summary>
    /// Inclusive key-tile range [nMin, nMax] that holds every key visible to some valid row of m-block
    /// <paramref name="mBlock"/>; nMin &gt; nMax when the block sees no key at all.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void KeyTiles(FlashParams p, int mBlock, out int nMin, out int nMax)
    {
        long firstRow = (long)mBlock * p.BlockRows;
        long lastRow = Min(firstRow + p.BlockRows, p.QCount) - 1;
        long qFirst = p.QPos0 + firstRow;
        long qLast = p.QPos0 + lastRow;
        long jMin = Max(0L, qFirst - p.DMax - p.KPos0);
        long jMax = Min(p.KCount - 1L, qLast - p.DMin - p.KPos0);
        if (jMin > jMax || lastRow < firstRow)
        {
            nMin = 0;
            nMax = -1;
            return;
        }

        nMin = (int)(jMin / p.BlockKeys);
        nMax = (int)(jMax / p.BlockKeys);
    }

    /// <summary>
    /// False when every (row, key) pair of tile (m, n) is visible and in range, so the per-element mask can be skipped;
    /// rows past the span end are computed but never stored, so they do not force the mask.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TileNeedsMask(FlashParams p, int mBlock, int n)
    {
        long k0 = (long)n * p.BlockKeys;
        if (k0 + p.BlockKeys > p.KCount)
        {
            return true;
        }

        long qFirst = p.QPos0 + (long)mBlock * p.BlockRows;
        long qLast = qFirst + p.BlockRows - 1;
        long kFirst = p.KPos0 + k0;
        long kLast = kFirst + p.BlockKeys - 1;
        return qFirst - kLast < p.DMin || qLast - kFirst > p.DMax;
    }

    /// <summary>Visibility of buffer row <paramref name="row"/> (span-relative) against key <paramref name="key"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Visible(FlashParams p, int row, int key)
    {
        long delta = (long)p.QPos0 + row - ((long)p.KPos0 + key);
        return key < p.KCount && delta >= p.DMin && delta <= p.DMax;
    }

    /// <summary>m-block handled by block x of a grid of <paramref name="blocks"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MBlock(FlashParams p, int blockX, int blocks) => p.HeavyFirst != 0 ? blocks - 1 - blockX : blockX;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Min(long a, long b) => a < b ? a : b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Max(long a, long b) => a > b ? a : b;
}
