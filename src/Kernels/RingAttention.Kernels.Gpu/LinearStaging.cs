using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Global rows into the shared slices of <see cref="LinearKernels"/> (<see cref="LinearKernels.Slice"/> rows ×
/// <see cref="LinearKernels.MaxDim"/> columns, padded stride), eight loads in flight a thread: a load and the shared
/// store that needs it one element at a time left each warp waiting out a memory latency per element, which is what
/// bounded the output kernel (NOTES v8c). Elements past the rows or the head dim are stored as 0.
/// </summary>
internal static class LinearStaging
{
    private const int Elements = LinearKernels.Slice * LinearKernels.MaxDim;

    /// <summary>
    /// Rows [first, first + count) of head <paramref name="head"/> of <paramref name="heads"/> from rows in the job's
    /// dtype, φ applied when <paramref name="phi"/>, and row t weighted γ^(last − t) when <paramref name="log2g"/> ≠ 0
    /// (a chunk's keys in its state).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows(ArrayView<float> slice, int stride, ArrayView<ushort> x, LinearParams p, int first, int count, int heads, int head,
        bool phi, int last, float log2g)
    {
        int step = Group.DimX;
        for (int e0 = Group.IdxX; e0 < Elements; e0 += 8 * step)
        {
            uint b0 = Bits(x, p, first, count, heads, head, e0);
            uint b1 = Bits(x, p, first, count, heads, head, e0 + step);
            uint b2 = Bits(x, p, first, count, heads, head, e0 + (2 * step));
            uint b3 = Bits(x, p, first, count, heads, head, e0 + (3 * step));
            uint b4 = Bits(x, p, first, count, heads, head, e0 + (4 * step));
            uint b5 = Bits(x, p, first, count, heads, head, e0 + (5 * step));
            uint b6 = Bits(x, p, first, count, heads, head, e0 + (6 * step));
            uint b7 = Bits(x, p, first, count, heads, head, e0 + (7 * step));
            PutRow(slice, stride, p, count, e0, b0, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + step, b1, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + (2 * step), b2, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + (3 * step), b3, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + (4 * step), b4, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + (5 * step), b5, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + (6 * step), b6, phi, last, log2g);
            PutRow(slice, stride, p, count, e0 + (7 * step), b7, phi, last, log2g);
        }
    }

    /// <summary>Rows [i0, i0 + count) of a D × D state (float32) at <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void State(ArrayView<float> slice, int stride, ArrayView<float> states, long b, int i0, int count, int d)
    {
        int step = Group.DimX;
        for (int e0 = Group.IdxX; e0 < Elements; e0 += 8 * step)
        {
            float x0 = StateAt(states, b, i0, count, d, e0);
            float x1 = StateAt(states, b, i0, count, d, e0 + step);
            float x2 = StateAt(states, b, i0, count, d, e0 + (2 * step));
            float x3 = StateAt(states, b, i0, count, d, e0 + (3 * step));
            float x4 = StateAt(states, b, i0, count, d, e0 + (4 * step));
            float x5 = StateAt(states, b, i0, count, d, e0 + (5 * step));
            float x6 = StateAt(states, b, i0, count, d, e0 + (6 * step));
            float x7 = StateAt(states, b, i0, count, d, e0 + (7 * step));
            Put(slice, stride, e0, x0);
            Put(slice, stride, e0 + step, x1);
            Put(slice, stride, e0 + (2 * step), x2);
            Put(slice, stride, e0 + (3 * step), x3);
            Put(slice, stride, e0 + (4 * step), x4);
            Put(slice, stride, e0 + (5 * step), x5);
            Put(slice, stride, e0 + (6 * step), x6);
            Put(slice, stride, e0 + (7 * step), x7);
        }
    }

    /// <summary>The raw bits of element e (row e / MaxDim, column e % MaxDim): two halves for float32, one for 16-bit types.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Bits(ArrayView<ushort> x, LinearParams p, int first, int count, int heads, int head, int e)
    {
        int t = e / LinearKernels.MaxDim, col = e % LinearKernels.MaxDim;
        if (e >= Elements || t >= count || col >= p.HeadDim)
        {
            return 0u;
        }

        long index = ((((long)(p.RowOffset + first + t) * heads) + head) * p.HeadDim) + col;
        if (p.DType == 0)
        {
            uint lo = x[2 * index];
            uint hi = x[(2 * index) + 1];
            return lo | (hi << 16);
        }

        return x[index];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutRow(ArrayView<float> slice, int stride, LinearParams p, int count, int e, uint bits, bool phi, int last, float log2g)
    {
        if (e >= Elements)
        {
            return;
        }

        int t = e / LinearKernels.MaxDim, col = e % LinearKernels.MaxDim;
        float value = 0f;
        if (t < count && col < p.HeadDim)
        {
            value = p.DType == 0 ? Interop.IntAsFloat(bits) : p.DType == 2 ? Interop.IntAsFloat(bits << 16) : PortableKernel.HalfBitsToSingle(bits);
            value = phi ? LinearKernels.Phi(p.FeatureMap, value) : value;
            value = log2g != 0f ? value * SoftMath.Exp2((last - t) * log2g) : value;
        }

        slice[(t * stride) + col] = value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float StateAt(ArrayView<float> states, long b, int i0, int count, int d, int e)
    {
        int i = e / LinearKernels.MaxDim, col = e % LinearKernels.MaxDim;
        return e < Elements && i < count && col < d ? states[b + ((long)(i0 + i) * d) + col] : 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ArrayView<float> slice, int stride, int e, float value)
    {
        if (e < Elements)
        {
            slice[((e / LinearKernels.MaxDim) * stride) + (e % LinearKernels.MaxDim)] = value;
        }
    }
}
