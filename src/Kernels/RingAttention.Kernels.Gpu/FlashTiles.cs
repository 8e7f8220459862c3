using ILGPU;
using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>Non-generated pieces of the tensor-core kernels: tile loads and the epilogue's LSE merge.</summary>
internal static class FlashTiles
{
    private const float Ln2 = 0.693147180559945309f;
    private const float Log2E = 1.44269504088896341f;

    /// <summary>
    /// cp.async of one tile: this thread's 16-B chunk of rows ldRow, ldRow + rowsPerPass, ... (same swizzle phase,
    /// since rowsPerPass is a multiple of 8). Rows at or past <paramref name="validRows"/> are zero-filled
    /// (src-size 0, source clamped to the tile's first row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Load(uint dst, ulong src, ulong rowStride, int ldRow, int rowsPerPass, int tileRows, int validRows)
    {
        for (int i = 0; i < tileRows; i += rowsPerPass)
        {
            int row = ldRow + i;
            bool ok = row < validRows;
            Ptx.CpAsync16(dst + (uint)(i / rowsPerPass * 2048) /* one pass = 128 threads x 16 B */, src + ((ulong)(ok ? row : 0) * rowStride), ok ? 16u : 0u);
        }
    }

    /// <summary>Like <see cref="Load"/> with a caller-given destination stride per pass (the wgmma half-split layout).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadRows(uint dst, ulong src, ulong rowStride, int ldRow, int rowsPerPass, int tileRows, int validRows, int passBytes)
    {
        for (int i = 0; i < tileRows; i += rowsPerPass)
        {
            int row = ldRow + i;
            bool ok = row < validRows;
            Ptx.CpAsync16(dst + (uint)(i / rowsPerPass * passBytes), src + ((ulong)(ok ? row : 0) * rowStride), ok ? 16u : 0u);
        }
    }

    /// <summary>Old LSE of a row when merging (read before any lane writes it), else -inf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ReadLse(FlashParams p, ArrayView<float> lse, int h, int row) =>
        p.Merge != 0 && row < p.QCount ? lse[((long)h * p.LseStride) + p.QRowOffset + row] : float.NegativeInfinity;

    /// <summary>
    /// Output weights of a finished row. mode 0: keep the old row (merge with no visible key);
    /// 1: o = wa·o_old + wb·acc; 2: o = wb·acc (overwrite; wb = 0 for a row with no visible key).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Weights(int merge, float mc, float l, float lseOld, out float wa, out float wb, out float lseOut, out int mode)
    {
        if (l > 0f)
        {
            float inv = 1f / l;
            float lseNew = (mc + Ptx.Lg2(l)) * Ln2;
            if (merge != 0)
            {
                float top = lseOld > lseNew ? lseOld : lseNew;
                float a = Ptx.Ex2((lseOld - top) * Log2E);
                float b = Ptx.Ex2((lseNew - top) * Log2E);
                float sum = a + b;
                wa = a / sum;
                wb = b / sum * inv;
                lseOut = top + (Ptx.Lg2(sum) * Ln2);
                mode = 1;
            }
            else
            {
                wa = 0f;
                wb = inv;
                lseOut = lseNew;
                mode = 2;
            }
        }
        else
        {
            wa = 0f;
            wb = 0f;
            lseOut = float.NegativeInfinity;
            mode = merge != 0 ? 0 : 2;
        }
    }

    /// <summary>Writes (merges) two adjacent output columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ArrayView<float> o, long index, int mode, float wa, float wb, float x0, float x1)
    {
        if (mode == 1)
        {
            o[index] = (wa * o[index]) + (wb * x0);
            o[index + 1] = (wa * o[index + 1]) + (wb * x1);
        }
        else
        {
            o[index] = wb * x0;
            o[index + 1] = wb * x1;
        }
    }
}
