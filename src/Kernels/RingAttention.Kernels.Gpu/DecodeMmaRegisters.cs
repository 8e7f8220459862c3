using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Eight 8-byte words of one lane in registers (four 16-bit elements each): in <see cref="DecodeMmaKernel"/> a lane's
/// share of a q or K row, word j holding dims 16j + 4t .. 16j + 4t + 3 (t = lane % 4), the lane's A or B fragment of
/// k-tile j. Fields rather than an array, so that ILGPU keeps them in registers; never indexed at run time.
/// </summary>
internal struct Words8
{
    public ulong W0;
    public ulong W1;
    public ulong W2;
    public ulong W3;
    public ulong W4;
    public ulong W5;
    public ulong W6;
    public ulong W7;
}

/// <summary>Four 8-byte words of one lane: its share of a V row in <see cref="DecodeMmaKernel"/> (word i holding dims
/// 32i + 4g .. 32i + 4g + 3, g = lane / 4).</summary>
internal struct Words4
{
    public ulong W0;
    public ulong W1;
    public ulong W2;
    public ulong W3;
}

/// <summary>A lane's loads of one turn of <see cref="DecodeMmaKernel"/>: two K rows' words, four V rows' words.</summary>
internal struct TurnLoads
{
    public Words8 K0;
    public Words8 K1;
    public Words4 Va;
    public Words4 Vb;
    public Words4 Vc;
    public Words4 Vd;
}

/// <summary>
/// A lane's output accumulator in <see cref="DecodeMmaKernel"/>: sixteen n-tiles of 8 dims of its query vector's row;
/// n-tile 4i + u column n is dim 32i + 4n + u, so that the lane's B fragments come from whole words of V (<see cref="Words4"/>).
/// </summary>
internal struct DecodeOutput
{
    public Tile2 O0;
    public Tile2 O1;
    public Tile2 O2;
    public Tile2 O3;
    public Tile2 O4;
    public Tile2 O5;
    public Tile2 O6;
    public Tile2 O7;
    public Tile2 O8;
    public Tile2 O9;
    public Tile2 O10;
    public Tile2 O11;
    public Tile2 O12;
    public Tile2 O13;
    public Tile2 O14;
    public Tile2 O15;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly DecodeOutput Scaled(float a) => new()
    {
        O0 = O0.Scaled(a), O1 = O1.Scaled(a), O2 = O2.Scaled(a), O3 = O3.Scaled(a),
        O4 = O4.Scaled(a), O5 = O5.Scaled(a), O6 = O6.Scaled(a), O7 = O7.Scaled(a),
        O8 = O8.Scaled(a), O9 = O9.Scaled(a), O10 = O10.Scaled(a), O11 = O11.Scaled(a),
        O12 = O12.Scaled(a), O13 = O13.Scaled(a), O14 = O14.Scaled(a), O15 = O15.Scaled(a),
    };
}

/// <summary>The accumulators of a wide warp's two rows (g and g + 8) in <see cref="DecodeMmaKernel"/>.</summary>
internal struct DecodeOutputs
{
    public DecodeOutput A;
    public DecodeOutput B;
}
