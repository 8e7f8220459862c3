using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Register-tile arithmetic of <see cref="LinearKernels"/>: a work item holds two 4 × 4 tiles (8 rows × 4 columns 32
/// apart, slot 4·r + c of <see cref="DecodeSlots"/>) and eight row sums; these add outer products into them, scale their
/// rows and store them with rows and columns past the head dim dropped.
/// </summary>
internal static class LinearTiles
{
    /// <summary>acc + a bᵀ for a 4 × 4 tile (slot 4·r + c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DecodeSlots Outer(DecodeSlots x, float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3) => new()
    {
        S0 = x.S0 + (a0 * b0), S1 = x.S1 + (a0 * b1), S2 = x.S2 + (a0 * b2), S3 = x.S3 + (a0 * b3),
        S4 = x.S4 + (a1 * b0), S5 = x.S5 + (a1 * b1), S6 = x.S6 + (a1 * b2), S7 = x.S7 + (a1 * b3),
        S8 = x.S8 + (a2 * b0), S9 = x.S9 + (a2 * b1), S10 = x.S10 + (a2 * b2), S11 = x.S11 + (a2 * b3),
        S12 = x.S12 + (a3 * b0), S13 = x.S13 + (a3 * b1), S14 = x.S14 + (a3 * b2), S15 = x.S15 + (a3 * b3),
    };

    /// <summary>A 4 × 4 tile with row r scaled by g_r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DecodeSlots ScaleRows(DecodeSlots x, float g0, float g1, float g2, float g3) => new()
    {
        S0 = x.S0 * g0, S1 = x.S1 * g0, S2 = x.S2 * g0, S3 = x.S3 * g0,
        S4 = x.S4 * g1, S5 = x.S5 * g1, S6 = x.S6 * g1, S7 = x.S7 * g1,
        S8 = x.S8 * g2, S9 = x.S9 * g2, S10 = x.S10 * g2, S11 = x.S11 * g2,
        S12 = x.S12 * g3, S13 = x.S13 * g3, S14 = x.S14 * g3, S15 = x.S15 * g3,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DecodeSlots Scale8(DecodeSlots x, float g0, float g1, float g2, float g3, float g4, float g5, float g6, float g7)
    {
        x.S0 *= g0;
        x.S1 *= g1;
        x.S2 *= g2;
        x.S3 *= g3;
        x.S4 *= g4;
        x.S5 *= g5;
        x.S6 *= g6;
        x.S7 *= g7;
        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static DecodeSlots Add8(DecodeSlots x, float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7)
    {
        x.S0 += a0;
        x.S1 += a1;
        x.S2 += a2;
        x.S3 += a3;
        x.S4 += a4;
        x.S5 += a5;
        x.S6 += a6;
        x.S7 += a7;
        return x;
    }

    /// <summary>A 4 × 4 tile of S (rows i0.., columns jj + 32·c) into a state's D × D block; rows and columns past D dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreTile(ArrayView<float> s, long b, int i0, int jj, int d, DecodeSlots x)
    {
        PutRow4(s, b, i0, jj, d, x.S0, x.S1, x.S2, x.S3);
        PutRow4(s, b, i0 + 1, jj, d, x.S4, x.S5, x.S6, x.S7);
        PutRow4(s, b, i0 + 2, jj, d, x.S8, x.S9, x.S10, x.S11);
        PutRow4(s, b, i0 + 3, jj, d, x.S12, x.S13, x.S14, x.S15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PutRow4(ArrayView<float> s, long b, int i, int jj, int d, float c0, float c1, float c2, float c3)
    {
        if (i >= d)
        {
            return;
        }

        long row = b + ((long)i * d);
        PutRow(s, row, jj, d, c0);
        PutRow(s, row, jj + 32, d, c1);
        PutRow(s, row, jj + 64, d, c2);
        PutRow(s, row, jj + 96, d, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PutRow(ArrayView<float> s, long b, int col, int d, float value)
    {
        if (col < d)
        {
            s[b + col] = value;
        }
    }

    /// <summary>Row r (when below <paramref name="rows"/>) of the block's o, times <paramref name="scale"/>: columns jj + 32·c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PutOut(ArrayView<float> o, long b, long rowStride, int r, int rows, int jj, int d, float c0, float c1, float c2, float c3, float scale)
    {
        if (r >= rows)
        {
            return;
        }

        long row = b + (r * rowStride);
        PutRow(o, row, jj, d, c0 * scale);
        PutRow(o, row, jj + 32, d, c1 * scale);
        PutRow(o, row, jj + 64, d, c2 * scale);
        PutRow(o, row, jj + 96, d, c3 * scale);
    }
}
