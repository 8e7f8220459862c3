using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Up to eight floats of one lane in registers: the lane's share of a head-dim vector (dims 4l..4l+3 in S0-S3 and
/// 4(l+L)..4(l+L)+3 in S4-S7 for lane l of L). A struct with fields rather than an array, so that ILGPU keeps it in registers; never indexed
/// at run time.
/// </summary>
internal struct DecodeSlots
{
    public const int Count = 8;

    public float S0;
    public float S1;
    public float S2;
    public float S3;
    public float S4;
    public float S5;
    public float S6;
    public float S7;

    // Every operation is written out slot by slot: a switch on the slot index compiled to branches in the key loop
    // (838 branches in the PTX, measured 115 GB/s), while straight-line code keeps the eight floats in registers.

    /// <summary>Σ this · other over the eight slots (slots past the head dim hold 0 on both sides).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Dot(DecodeSlots o) =>
        (S0 * o.S0) + (S1 * o.S1) + (S2 * o.S2) + (S3 * o.S3) + (S4 * o.S4) + (S5 * o.S5) + (S6 * o.S6) + (S7 * o.S7);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeSlots Scaled(float a) => new()
    {
        S0 = S0 * a, S1 = S1 * a, S2 = S2 * a, S3 = S3 * a, S4 = S4 * a, S5 = S5 * a, S6 = S6 * a, S7 = S7 * a,
    };

    /// <summary>this · a + o · e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeSlots ScaledPlus(float a, DecodeSlots o, float e) => new()
    {
        S0 = (S0 * a) + (o.S0 * e), S1 = (S1 * a) + (o.S1 * e), S2 = (S2 * a) + (o.S2 * e), S3 = (S3 * a) + (o.S3 * e),
        S4 = (S4 * a) + (o.S4 * e), S5 = (S5 * a) + (o.S5 * e), S6 = (S6 * a) + (o.S6 * e), S7 = (S7 * a) + (o.S7 * e),
    };
}

/// <summary>One query vector's running state in <see cref="DecodeKernel"/>: its q, output accumulator, max and sum.</summary>
internal struct DecodeQuery
{
    public DecodeSlots Q;
    public DecodeSlots Acc;
    public float M;
    public float L;

    /// <summary>Global position of its row; -1 when the vector lies past the tile (not computed).</summary>
    public long Position;
}
