using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Any-size tile product built from <see cref="GemmMicroKernel{TV}"/> blocks of up to 4 rows × 4 vectors:
/// <c>C[rows × vecs·W] (+)= A[rows × depth] · B[depth × vecs·W]</c>. B is stored as panels of up to 4 vectors
/// (panel p at b + p·bPanelStride, its rows bRowStride apart), so a packed panel is one contiguous block: rows
/// 512 bytes or 4 KiB apart (a [tokens, 8 heads, 128] tensor) all fall in the same few of the 64 L1 sets and
/// evict each other, which measured 124 GFLOP/s against 249 for the same product on a contiguous panel.
/// The panels are the outer loop so one (depth × 64 floats = 16-32 KiB) stays in the 48 KiB L1 while every
/// row block streams past it.
/// </summary>
internal static unsafe class TileGemm<TV>
    where TV : struct, ISimd<TV>
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply(
        int rows, int vecs, float* a, nint aRowStride, nint aColStride, float* b, nint bRowStride, nint bPanelStride, float* c, nint cRowStride, int depth, bool accumulate)
    {
        for (int v = 0; v < vecs; v += 4)
        {
            int blockVecs = Math.Min(4, vecs - v);
            float* bv = b + (v / 4 * bPanelStride);
            float* cv = c + (v * TV.Count);
            for (int r = 0; r < rows; r += 4)
            {
                int blockRows = Math.Min(4, rows - r);
                float* ar = a + (r * aRowStride);
                float* cr = cv + (r * cRowStride);
                switch (blockRows)
                {
                    case 4: ByVecs<Const4>(blockVecs, ar, aRowStride, aColStride, bv, bRowStride, cr, cRowStride, depth, accumulate); break;
                    case 3: ByVecs<Const3>(blockVecs, ar, aRowStride, aColStride, bv, bRowStride, cr, cRowStride, depth, accumulate); break;
                    case 2: ByVecs<Const2>(blockVecs, ar, aRowStride, aColStride, bv, bRowStride, cr, cRowStride, depth, accumulate); break;
                    default: ByVecs<Const1>(blockVecs, ar, aRowStride, aColStride, bv, bRowStride, cr, cRowStride, depth, accumulate); break;
                }
            }
        }
    }

    private static void ByVecs<TRows>(
        int vecs, float* a, nint aRowStride, nint aColStride, float* b, nint bRowStride, float* c, nint cRowStride, int depth, bool accumulate)
        where TRows : struct, IConstant
    {
        switch (vecs)
        {
            case 4: GemmMicroKernel<TV>.Run<TRows, Const4>(a, aRowStride, aColStride, b, bRowStride, c, cRowStride, depth, accumulate); break;
            case 3: GemmMicroKernel<TV>.Run<TRows, Const3>(a, aRowStride, aColStride, b, bRowStride, c, cRowStride, depth, accumulate); break;
            case 2: GemmMicroKernel<TV>.Run<TRows, Const2>(a, aRowStride, aColStride, b, bRowStride, c, cRowStride, depth, accumulate); break;
            default: GemmMicroKernel<TV>.Run<TRows, Const1>(a, aRowStride, aColStride, b, bRowStride, c, cRowStride, depth, accumulate); break;
        }
    }
}
