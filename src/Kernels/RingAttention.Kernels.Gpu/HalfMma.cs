using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The warp-wide product C += A·B of a 16 × 16 (row-major) A and a 16 × 8 B of 16-bit floats (bf16 or f16) with
/// float32 accumulation: PTX's <c>mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}</c>. Lane (g, t) passes A[g][2t..2t+1],
/// A[g + 8][2t..2t+1], A[g][2t+8..2t+9], A[g + 8][2t+8..2t+9] and B[2t..2t+1][g], B[2t+8..2t+9][g], each pair as one
/// 32-bit word with the lower index in the low half; the result as <see cref="Tile4"/>. <see cref="Pack"/> rounds two
/// floats to the type (nearest even). Two implementations, like <see cref="ITf32Mma"/>: the tensor-core instruction, and
/// the same sums through warp shuffles so that ILGPU's CPU accelerator (32-lane warps) runs the kernels in CI.
/// </summary>
internal interface IHalfMma
{
    Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1);

    /// <summary>Two floats as one word of the type, <paramref name="lo"/> in the low half.</summary>
    uint Pack(float lo, float hi);

    /// <summary>The low (or, when <paramref name="odd"/>, the high) 16-bit halves of two words as one word, <paramref name="low"/>'s
    /// in the low half: a B fragment from two rows' words.</summary>
    uint Interleave(uint low, uint high, bool odd);
}

/// <summary>The bf16 tensor-core instruction (sm_80 and later).</summary>
internal readonly struct PtxBf16Mma : IHalfMma
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        float c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
        Ptx.MmaBf16(ref c0, ref c1, ref c2, ref c3, a0, a1, a2, a3, b0, b1);
        return new Tile4(c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Pack(float lo, float hi) => Ptx.PackBf16(lo, hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Interleave(uint low, uint high, bool odd) => Ptx.Prmt(low, high, odd ? 0x7632u : 0x5410u);
}

/// <summary>The f16 tensor-core instruction (sm_80 and later).</summary>
internal readonly struct PtxF16Mma : IHalfMma
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        float c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
        Ptx.MmaF16(ref c0, ref c1, ref c2, ref c3, a0, a1, a2, a3, b0, b1);
        return new Tile4(c0, c1, c2, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Pack(float lo, float hi) => Ptx.PackF16(lo, hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint Interleave(uint low, uint high, bool odd) => Ptx.Prmt(low, high, odd ? 0x7632u : 0x5410u);
}

/// <summary>How one 16-bit type is read from and rounded into a half word, for <see cref="WarpHalfMma{TPair}"/>.</summary>
internal interface IHalfPair
{
    float Value(uint half);

    uint Bits(float value);
}

internal readonly struct Bf16Pair : IHalfPair
{
    public float Value(uint half) => Interop.IntAsFloat(half << 16);

    /// <summary>Round to nearest, ties to even (finite inputs), as <c>cvt.rn.bf16x2.f32</c>.</summary>
    public uint Bits(float value)
    {
        uint bits = Interop.FloatAsInt(value);
        return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    }
}

internal readonly struct F16Pair : IHalfPair
{
    public float Value(uint half) => PortableKernel.HalfBitsToSingle(half);

    /// <summary>Round to nearest, ties to even (finite inputs; past the largest half, infinity), as <c>cvt.rn.f16x2.f32</c>.</summary>
    public uint Bits(float value)
    {
        uint x = Interop.FloatAsInt(value);
        uint sign = (x >> 16) & 0x8000u;
        uint abs = x & 0x7FFFFFFFu;
        if (abs >= 0x477FF000u)
        {
            return sign | 0x7C00u;
        }

        if (abs >= 0x38800000u)
        {
            // Normal: rebias the exponent (127 to 15) and round 23 mantissa bits to 10.
            uint t = abs - 0x38000000u;
            return sign | ((t + 0xFFFu + ((t >> 13) & 1u)) >> 13);
        }

        // Subnormal: a multiple of 2^-24 (the scaling is exact).
        float f = Interop.IntAsFloat(abs) * 16777216f;
        uint n = (uint)f;
        float rest = f - n;
        return sign | (rest > 0.5f || (rest == 0.5f && (n & 1u) == 1u) ? n + 1 : n);
    }
}

/// <summary>
/// The same product from warp shuffles: lane (g, t) gathers rows g and g + 8 of A from lanes 4g + k and columns 2t,
/// 2t + 1 of B from lanes 4·(2t) + k and 4·(2t + 1) + k, and sums in float32. Needs 32-lane warps (ILGPU's CPU
/// accelerator of kind Nvidia); runs only there (its rounding is .NET's).
/// </summary>
internal readonly struct WarpHalfMma<TPair> : IHalfMma
    where TPair : struct, IHalfPair
{
    public Tile4 Mma(Tile4 c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        int lane = Warp.LaneIdx;
        int g = lane >> 2, t = lane & 3;
        float c0 = c.C0, c1 = c.C1, c2 = c.C2, c3 = c.C3;
        for (int k = 0; k < 4; k++)
        {
            uint top = Warp.Shuffle(a0, (4 * g) + k);
            uint bottom = Warp.Shuffle(a1, (4 * g) + k);
            uint topHi = Warp.Shuffle(a2, (4 * g) + k);
            uint bottomHi = Warp.Shuffle(a3, (4 * g) + k);
            uint even = Warp.Shuffle(b0, (8 * t) + k);
            uint odd = Warp.Shuffle(b0, (8 * t) + 4 + k);
            uint evenHi = Warp.Shuffle(b1, (8 * t) + k);
            uint oddHi = Warp.Shuffle(b1, (8 * t) + 4 + k);
            c0 += Dot(top, even) + Dot(topHi, evenHi);
            c1 += Dot(top, odd) + Dot(topHi, oddHi);
            c2 += Dot(bottom, even) + Dot(bottomHi, evenHi);
            c3 += Dot(bottom, odd) + Dot(bottomHi, oddHi);
        }

        return new Tile4(c0, c1, c2, c3);
    }

    public uint Pack(float lo, float hi) => default(TPair).Bits(lo) | (default(TPair).Bits(hi) << 16);

    public uint Interleave(uint low, uint high, bool odd) =>
        odd ? (low >> 16) | (high & 0xFFFF0000u) : (low & 0xFFFFu) | (high << 16);

    private static float Dot(uint x, uint y) =>
        (default(TPair).Value(x & 0xFFFFu) * default(TPair).Value(y & 0xFFFFu)) + (default(TPair).Value(x >> 16) * default(TPair).Value(y >> 16));
}
