using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One m16n8 accumulator fragment of a warp (PTX's mma layout): lane (g = lane / 4, t = lane % 4) holds C[g][2t],
/// C[g][2t + 1], C[g + 8][2t], C[g + 8][2t + 1].
/// </summary>
internal struct Tile4
{
    public float C0;
    public float C1;
    public float C2;
    public float C3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tile4(float c0, float c1, float c2, float c3)
    {
        C0 = c0;
        C1 = c1;
        C2 = c2;
        C3 = c3;
    }
}

/// <summary>Four m16n8 accumulator fragments: 16 rows × 32 columns of a warp.</summary>
internal struct Tiles4
{
    public Tile4 T0;
    public Tile4 T1;
    public Tile4 T2;
    public Tile4 T3;
}

/// <summary>Eight m16n8 accumulator fragments: 16 rows × 64 columns of a warp, as two halves of 32.</summary>
internal struct Tiles8
{
    public Tiles4 Left;
    public Tiles4 Right;
}

/// <summary>Row g of an m16n8 accumulator fragment (C[g][2t], C[g][2t + 1]) where rows 8-15 are not used.</summary>
internal struct Tile2
{
    public float C0;
    public float C1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Tile2(float c0, float c1)
    {
        C0 = c0;
        C1 = c1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly Tile2 Scaled(float a) => new(C0 * a, C1 * a);
}
