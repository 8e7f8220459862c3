using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The warp-wide product C += A·B of a 16 × 8 (row-major) A and an 8 × 8 B in TF32 with float32 accumulation: PTX's
/// <c>mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32</c>. Lane (g, t) passes A[g][t], A[g + 8][t], A[g][t + 4],
/// A[g + 8][t + 4] and B[t][g], B[t + 4][g] as float bits, already rounded to TF32 (<see cref="Round"/>).
/// Two implementations, like <see cref="PtxMath"/> and <see cref="PortableMath"/>: the tensor-core instruction, and the
/// same sums through warp shuffles, so that ILGPU's CPU accelerator (32-lane warps) runs the kernels in CI.
/// </summary>
internal interface ITf32Mma
{
    Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);
}

internal static class Tf32
{
    /// <summary>Rounds to TF32 (10 mantissa bits, nearest, ties away), as <c>cvt.rna.tf32.f32</c>: unbiased, where the
    /// tensor core itself would truncate the low 13 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float x)
    {
        uint bits = Interop.FloatAsInt(x);
        return (bits & 0x7F800000u) == 0x7F800000u ? x : Interop.IntAsFloat((bits + 0x1000u) & 0xFFFFE000u);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Bits(float x) => Interop.FloatAsInt(x);
}

/// <summary>The tensor-core instruction (sm_80 and later).</summary>
internal readonly struct PtxTf32Mma : ITf32Mma
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        Ref<float> x0 = c.C0, x1 = c.C1, x2 = c.C2, x3 = c.C3;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, j0 = b0, j1 = b1;
        CudaAsm.EmitRef(
            "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
            ref x0, ref x1, ref x2, ref x3, ref i0, ref i1, ref i2, ref i3, ref j0, ref j1);
        return new Tile4(x0.Value, x1.Value, x2.Value, x3.Value);
    }
}

/// <summary>
/// The same product from warp shuffles: lane (g, t) gathers row g and g + 8 of A from lanes 4g + k and columns 2t,
/// 2t + 1 of B from lanes 4·(2t) + k and 4·(2t + 1) + k. Needs 32-lane warps (ILGPU's CPU accelerator of kind Nvidia).
/// </summary>
internal readonly struct WarpTf32Mma : ITf32Mma
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        int lane = Warp.LaneIdx;
        int g = lane >> 2, t = lane & 3;
        float c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
        for (int k = 0; k < 4; k++)
        {
            float top = Interop.IntAsFloat(Warp.Shuffle(a0, (4 * g) + k));
            float bottom = Interop.IntAsFloat(Warp.Shuffle(a1, (4 * g) + k));
            float topHi = Interop.IntAsFloat(Warp.Shuffle(a2, (4 * g) + k));
            float bottomHi = Interop.IntAsFloat(Warp.Shuffle(a3, (4 * g) + k));
            float even = Interop.IntAsFloat(Warp.Shuffle(b0, (8 * t) + k));
            float odd = Interop.IntAsFloat(Warp.Shuffle(b0, (8 * t) + 4 + k));
            float evenHi = Interop.IntAsFloat(Warp.Shuffle(b1, (8 * t) + k));
            float oddHi = Interop.IntAsFloat(Warp.Shuffle(b1, (8 * t) + 4 + k));
            c0 += (top * even) + (topHi * evenHi);
            c1 += (top * odd) + (topHi * oddHi);
            c2 += (bottom * even) + (bottomHi * evenHi);
            c3 += (bottom * odd) + (bottomHi * oddHi);
        }

        return new Tile4(c0, c1, c2, c3);
    }
}
