using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Cpu;

/// <summary>A compile-time integer: generic kernels specialise on it and the JIT deletes the dead branches.</summary>
internal interface IConstant
{
    static abstract int Value { get; }
}

internal readonly struct Const1 : IConstant
{
    public static int Value => 1;
}

internal readonly struct Const2 : IConstant
{
    public static int Value => 2;
}

internal readonly struct Const3 : IConstant
{
    public static int Value => 3;
}

internal readonly struct Const4 : IConstant
{
    public static int Value => 4;
}

/// <summary>
/// Register-blocked SGEMM micro-kernel, the one inner loop of both attention products:
/// <c>C[TRows × TVecs·W] (+)= Σ_p A[r, p] · B[p, 0..TVecs·W)</c>, A read as broadcast scalars at any strides,
/// B as contiguous vector rows. S^T = K·Q^T uses A = K rows (keys), B = Q^T; O += P·V uses A = P^T read
/// column-wise (queries), B = V rows.
/// At 4 rows × 4 vectors it keeps 16 accumulators in registers: the FMA latency (4 cycles) × 2 FMA pipes of
/// Zen 5 needs at least 8 independent chains, and each step issues 16 FMAs against 4 vector loads and 4
/// broadcast loads, well inside the 2-4 loads/cycle the core sustains.
/// </summary>
internal static unsafe class GemmMicroKernel<TV>
    where TV : struct, ISimd<TV>
{
    /// <param name="a">A[0, 0]; A[r, p] is at a + r·aRowStride + p·aColStride.</param>
    /// <param name="b">B[0, 0]; row p starts at b + p·bRowStride and holds TVecs·W contiguous floats.</param>
    /// <param name="c">C[0, 0]; row r starts at c + r·cRowStride.</param>
    /// <param name="depth">Inner dimension (number of p).</param>
    /// <param name="accumulate">Add to C (true) or overwrite it (false).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<TRows, TVecs>(float* a, nint aRowStride, nint aColStride, float* b, nint bRowStride, float* c, nint cRowStride, int depth, bool accumulate)
        where TRows : struct, IConstant
        where TVecs : struct, IConstant
    {
        int w = TV.Count;
        TV c00 = default, c01 = default, c02 = default, c03 = default;
        TV c10 = default, c11 = default, c12 = default, c13 = default;
        TV c20 = default, c21 = default, c22 = default, c23 = default;
        TV c30 = default, c31 = default, c32 = default, c33 = default;
        float* c0 = c, c1 = c + cRowStride, c2 = c + (2 * cRowStride), c3 = c + (3 * cRowStride);
        if (accumulate)
        {
            LoadRow<TVecs>(c0, ref c00, ref c01, ref c02, ref c03);
            if (TRows.Value > 1)
            {
                LoadRow<TVecs>(c1, ref c10, ref c11, ref c12, ref c13);
            }

            if (TRows.Value > 2)
            {
                LoadRow<TVecs>(c2, ref c20, ref c21, ref c22, ref c23);
            }

            if (TRows.Value > 3)
            {
                LoadRow<TVecs>(c3, ref c30, ref c31, ref c32, ref c33);
            }
        }

        float* a0 = a, a1 = a + aRowStride, a2 = a + (2 * aRowStride), a3 = a + (3 * aRowStride);
        for (int p = 0; p < depth; p++)
        {
            TV b0 = TV.Load(b);
            TV b1 = TVecs.Value > 1 ? TV.Load(b + w) : default;
            TV b2 = TVecs.Value > 2 ? TV.Load(b + (2 * w)) : default;
            TV b3 = TVecs.Value > 3 ? TV.Load(b + (3 * w)) : default;
            Step<TVecs>(TV.Create(*a0), b0, b1, b2, b3, ref c00, ref c01, ref c02, ref c03);
            if (TRows.Value > 1)
            {
                Step<TVecs>(TV.Create(*a1), b0, b1, b2, b3, ref c10, ref c11, ref c12, ref c13);
            }

            if (TRows.Value > 2)
            {
                Step<TVecs>(TV.Create(*a2), b0, b1, b2, b3, ref c20, ref c21, ref c22, ref c23);
            }

            if (TRows.Value > 3)
            {
                Step<TVecs>(TV.Create(*a3), b0, b1, b2, b3, ref c30, ref c31, ref c32, ref c33);
            }

            a0 += aColStride;
            a1 += aColStride;
            a2 += aColStride;
            a3 += aColStride;
            b += bRowStride;
        }

        StoreRow<TVecs>(c0, c00, c01, c02, c03);
        if (TRows.Value > 1)
        {
            StoreRow<TVecs>(c1, c10, c11, c12, c13);
        }

        if (TRows.Value > 2)
        {
            StoreRow<TVecs>(c2, c20, c21, c22, c23);
        }

        if (TRows.Value > 3)
        {
            StoreRow<TVecs>(c3, c30, c31, c32, c33);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Step<TVecs>(TV x, TV b0, TV b1, TV b2, TV b3, ref TV r0, ref TV r1, ref TV r2, ref TV r3)
        where TVecs : struct, IConstant
    {
        r0 = TV.Fma(x, b0, r0);
        if (TVecs.Value > 1)
        {
            r1 = TV.Fma(x, b1, r1);
        }

        if (TVecs.Value > 2)
        {
            r2 = TV.Fma(x, b2, r2);
        }

        if (TVecs.Value > 3)
        {
            r3 = TV.Fma(x, b3, r3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadRow<TVecs>(float* row, ref TV r0, ref TV r1, ref TV r2, ref TV r3)
        where TVecs : struct, IConstant
    {
        r0 = TV.Load(row);
        if (TVecs.Value > 1)
        {
            r1 = TV.Load(row + TV.Count);
        }

        if (TVecs.Value > 2)
        {
            r2 = TV.Load(row + (2 * TV.Count));
        }

        if (TVecs.Value > 3)
        {
            r3 = TV.Load(row + (3 * TV.Count));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TVecs>(float* row, TV r0, TV r1, TV r2, TV r3)
        where TVecs : struct, IConstant
    {
        TV.Store(r0, row);
        if (TVecs.Value > 1)
        {
            TV.Store(r1, row + TV.Count);
        }

        if (TVecs.Value > 2)
        {
            TV.Store(r2, row + (2 * TV.Count));
        }

        if (TVecs.Value > 3)
        {
            TV.Store(r3, row + (3 * TV.Count));
        }
    }
}
