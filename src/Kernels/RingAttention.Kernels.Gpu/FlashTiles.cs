using ILGPU;
using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>Non-generated pieces of the tensor-core kernels: tile loads and the epilogue's LSE merge.</summary>
internal static class FlashTiles
{
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
    /// Output weights of a finished row (the merge itself is <see cref="SoftmaxMerge"/>'s, here with PTX's ex2/lg2).
    /// mode 0: keep the old row (merge with no visible key); 1: o = wa·o_old + wb·acc (acc unnormalised: wb carries
    /// 1/l); 2: o = wb·acc (overwrite; wb = 0 for a row with no visible key).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Weights(int merge, float mc, float l, float lseOld, out float wa, out float wb, out float lseOut, out int mode)
    {
        if (l > 0f)
        {
            float inv = 1f / l;
            float lseNew = SoftmaxMerge.BlockLse<PtxMath>(mc, l);
            if (merge != 0)
            {
                lseOut = SoftmaxMerge.Combine<PtxMath>(lseOld, lseNew, out wa, out float weightNew);
                wb = weightNew * inv;
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

/// <summary>PTX's approximate ex2/lg2 (one instruction each) for the tensor-core kernels' merge.</summary>
internal readonly struct PtxMath : IMergeMath
{
    public float Exp2(float x) => Ptx.Ex2(x);

    public float Log2(float x) => Ptx.Lg2(x);
}
