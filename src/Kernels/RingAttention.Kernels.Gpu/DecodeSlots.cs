using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Sixteen floats of one lane in registers: the lane's sixteen consecutive dims of a head-dim vector (four quads; dims
/// past the head dim hold 0). A struct with fields rather than an array, so that ILGPU keeps it in registers; never
/// indexed at run time.
/// </summary>
internal struct DecodeSlots
{
    /// <summary>Dims a lane holds.</summary>
    public const int Count = 16;

    public float S0;
    public float S1;
    public float S2;
    public float S3;
    public float S4;
    public float S5;
    public float S6;
    public float S7;
    public float S8;
    public float S9;
    public float S10;
    public float S11;
    public float S12;
    public float S13;
    public float S14;
    public float S15;

    // Every operation is written out slot by slot: a switch on the slot index compiled to branches in the key loop
    // (838 branches in the PTX, measured 115 GB/s), while straight-line code keeps the floats in registers.

    /// <summary>Σ this · other over the slots.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Dot(DecodeSlots o) =>
        ((S0 * o.S0) + (S1 * o.S1) + (S2 * o.S2) + (S3 * o.S3) + (S4 * o.S4) + (S5 * o.S5) + (S6 * o.S6) + (S7 * o.S7))
        + ((S8 * o.S8) + (S9 * o.S9) + (S10 * o.S10) + (S11 * o.S11) + (S12 * o.S12) + (S13 * o.S13) + (S14 * o.S14) + (S15 * o.S15));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeSlots Scaled(float a) => new()
    {
        S0 = S0 * a, S1 = S1 * a, S2 = S2 * a, S3 = S3 * a, S4 = S4 * a, S5 = S5 * a, S6 = S6 * a, S7 = S7 * a,
        S8 = S8 * a, S9 = S9 * a, S10 = S10 * a, S11 = S11 * a, S12 = S12 * a, S13 = S13 * a, S14 = S14 * a, S15 = S15 * a,
    };

    /// <summary>this + o · e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeSlots Plus(DecodeSlots o, float e) => new()
    {
        S0 = S0 + (o.S0 * e), S1 = S1 + (o.S1 * e), S2 = S2 + (o.S2 * e), S3 = S3 + (o.S3 * e),
        S4 = S4 + (o.S4 * e), S5 = S5 + (o.S5 * e), S6 = S6 + (o.S6 * e), S7 = S7 + (o.S7 * e),
        S8 = S8 + (o.S8 * e), S9 = S9 + (o.S9 * e), S10 = S10 + (o.S10 * e), S11 = S11 + (o.S11 * e),
        S12 = S12 + (o.S12 * e), S13 = S13 + (o.S13 * e), S14 = S14 + (o.S14 * e), S15 = S15 + (o.S15 * e),
    };

    /// <summary>this · a + o · b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeSlots Blend(float a, DecodeSlots o, float b) => Scaled(a).Plus(o, b);

    /// <summary>Every slot exchanged with the lane <paramref name="offset"/> away (xor), as Warp.ShuffleXor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeSlots ShuffleXor(int offset) => new()
    {
        S0 = ILGPU.Warp.ShuffleXor(S0, offset), S1 = ILGPU.Warp.ShuffleXor(S1, offset), S2 = ILGPU.Warp.ShuffleXor(S2, offset),
        S3 = ILGPU.Warp.ShuffleXor(S3, offset), S4 = ILGPU.Warp.ShuffleXor(S4, offset), S5 = ILGPU.Warp.ShuffleXor(S5, offset),
        S6 = ILGPU.Warp.ShuffleXor(S6, offset), S7 = ILGPU.Warp.ShuffleXor(S7, offset), S8 = ILGPU.Warp.ShuffleXor(S8, offset),
        S9 = ILGPU.Warp.ShuffleXor(S9, offset), S10 = ILGPU.Warp.ShuffleXor(S10, offset), S11 = ILGPU.Warp.ShuffleXor(S11, offset),
        S12 = ILGPU.Warp.ShuffleXor(S12, offset), S13 = ILGPU.Warp.ShuffleXor(S13, offset), S14 = ILGPU.Warp.ShuffleXor(S14, offset),
        S15 = ILGPU.Warp.ShuffleXor(S15, offset),
    };
}

/// <summary>One query vector's running state in <see cref="DecodeKernel"/>: its q, output accumulator, max (log2 units) and sum.</summary>
internal struct DecodeQuery
{
    public DecodeSlots Q;
    public DecodeSlots Acc;
    public float M;
    public float L;

    /// <summary>Global position of its row; -1 when the vector lies past the launch (not computed).</summary>
    public int Position;
}
