using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Up to eight floats of one lane in registers: the lane's share of a head-dim vector (dims lane, lane + L, ...,
/// lane + 7L for L lanes). A struct with fields rather than an array, so that ILGPU keeps it in registers; indexed
/// only by loop counters that the compiler unrolls.
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Get(int i) => i switch
    {
        0 => S0,
        1 => S1,
        2 => S2,
        3 => S3,
        4 => S4,
        5 => S5,
        6 => S6,
        _ => S7,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int i, float value)
    {
        switch (i)
        {
            case 0: S0 = value; break;
            case 1: S1 = value; break;
            case 2: S2 = value; break;
            case 3: S3 = value; break;
            case 4: S4 = value; break;
            case 5: S5 = value; break;
            case 6: S6 = value; break;
            default: S7 = value; break;
        }
    }
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
