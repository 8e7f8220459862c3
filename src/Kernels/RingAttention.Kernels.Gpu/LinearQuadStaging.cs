using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Staging for <see cref="LinearTensorKernels"/>: 32 rows × <see cref="LinearKernels.MaxDim"/> columns into shared
/// memory, four elements a work item through one 8-byte load (16-bit rows) or two (float32 states), four loads in
/// flight a thread, and the values stored rounded to TF32 (the mma's operands). Needs a head dim that is a multiple of 4
/// (so a quad never straddles a row or a head). Measured: staging element by element (<see cref="LinearStaging"/>, with
/// index arithmetic, 2-byte loads and a software exp2 per element) executed ~9,000 instructions a warp per chunk state
/// around 128 mma, and the tensor-core kernels ran no faster than the float32 ones (NOTES v9).
/// </summary>
internal static class LinearQuadStaging
{
    private const int RowQuads = LinearKernels.MaxDim / 4;
    private const int Quads = LinearKernels.Slice * RowQuads;
    private const float Log2E = 1.44269504088896341f;

    /// <summary>
    /// Rows [first, first + count) of head <paramref name="head"/> of <paramref name="heads"/> (f16 or bf16), φ applied
    /// when <paramref name="phi"/>, row t weighted γ^(last − t) when <paramref name="log2g"/> ≠ 0; rows past count and
    /// columns past the head dim are 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rows<TMath>(ArrayView<float> slice, int stride, ArrayView<ushort> x, LinearParams p, int first, int count, int heads, int head,
        bool phi, int last, float log2g)
        where TMath : struct, IMergeMath
    {
        var words = x.Cast<ulong>();
        int step = Group.DimX;
        for (int q0 = Group.IdxX; q0 < Quads; q0 += 4 * step)
        {
            ulong w0 = Load(words, p, first, count, heads, head, q0);
            ulong w1 = Load(words, p, first, count, heads, head, q0 + step);
            ulong w2 = Load(words, p, first, count, heads, head, q0 + (2 * step));
            ulong w3 = Load(words, p, first, count, heads, head, q0 + (3 * step));
            Put<TMath>(slice, stride, p, count, q0, w0, phi, last, log2g);
            Put<TMath>(slice, stride, p, count, q0 + step, w1, phi, last, log2g);
            Put<TMath>(slice, stride, p, count, q0 + (2 * step), w2, phi, last, log2g);
            Put<TMath>(slice, stride, p, count, q0 + (3 * step), w3, phi, last, log2g);
        }
    }

    /// <summary>Rows [i0, i0 + count) of a D × D float32 state at <paramref name="b"/>; rows past count and columns past D are 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void State(ArrayView<float> slice, int stride, ArrayView<float> states, long b, int i0, int count, int d)
    {
        var words = states.Cast<ulong>();
        int step = Group.DimX;
        for (int q0 = Group.IdxX; q0 < Quads; q0 += 4 * step)
        {
            long a0 = StateWord(b, i0, count, d, q0), a1 = StateWord(b, i0, count, d, q0 + step);
            long a2 = StateWord(b, i0, count, d, q0 + (2 * step)), a3 = StateWord(b, i0, count, d, q0 + (3 * step));
            ulong l0 = a0 >= 0 ? words[a0] : 0, h0 = a0 >= 0 ? words[a0 + 1] : 0;
            ulong l1 = a1 >= 0 ? words[a1] : 0, h1 = a1 >= 0 ? words[a1 + 1] : 0;
            ulong l2 = a2 >= 0 ? words[a2] : 0, h2 = a2 >= 0 ? words[a2 + 1] : 0;
            ulong l3 = a3 >= 0 ? words[a3] : 0, h3 = a3 >= 0 ? words[a3 + 1] : 0;
            PutFloats(slice, stride, q0, l0, h0);
            PutFloats(slice, stride, q0 + step, l1, h1);
            PutFloats(slice, stride, q0 + (2 * step), l2, h2);
            PutFloats(slice, stride, q0 + (3 * step), l3, h3);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Load(ArrayView<ulong> words, LinearParams p, int first, int count, int heads, int head, int q)
    {
        int t = q / RowQuads, c = (q % RowQuads) * 4;
        if (q >= Quads || t >= count || c >= p.HeadDim)
        {
            return 0;
        }

        long element = ((((long)(p.RowOffset + first + t) * heads) + head) * p.HeadDim) + c;
        return words[element >> 2];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TMath>(ArrayView<float> slice, int stride, LinearParams p, int count, int q, ulong bits, bool phi, int last, float log2g)
        where TMath : struct, IMergeMath
    {
        if (q >= Quads)
        {
            return;
        }

        int t = q / RowQuads, c = (q % RowQuads) * 4;
        int at = (t * stride) + c;
        if (t >= count || c >= p.HeadDim)
        {
            slice[at] = 0f;
            slice[at + 1] = 0f;
            slice[at + 2] = 0f;
            slice[at + 3] = 0f;
            return;
        }

        float w = log2g != 0f ? default(TMath).Exp2((last - t) * log2g) : 1f;
        slice[at] = Value<TMath>(p, (uint)bits & 0xFFFFu, phi, w);
        slice[at + 1] = Value<TMath>(p, (uint)(bits >> 16) & 0xFFFFu, phi, w);
        slice[at + 2] = Value<TMath>(p, (uint)(bits >> 32) & 0xFFFFu, phi, w);
        slice[at + 3] = Value<TMath>(p, (uint)(bits >> 48), phi, w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Value<TMath>(LinearParams p, uint half, bool phi, float w)
        where TMath : struct, IMergeMath
    {
        float x = p.DType == 2 ? Interop.IntAsFloat(half << 16) : PortableKernel.HalfBitsToSingle(half);
        if (phi)
        {
            x = p.FeatureMap == 0 ? (x > 0f ? x + 1f : default(TMath).Exp2(x * Log2E)) : p.FeatureMap == 1 ? (x > 0f ? x : 0f) : x;
        }

        return Tf32.Round(x * w);
    }

    /// <summary>Index of the first of the two 8-byte words of state quad q (rows from i0), or −1 past the rows or the head dim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long StateWord(long b, int i0, int count, int d, int q)
    {
        int i = q / RowQuads, c = (q % RowQuads) * 4;
        return q < Quads && i < count && c < d ? (b + ((long)(i0 + i) * d) + c) >> 1 : -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutFloats(ArrayView<float> slice, int stride, int q, ulong lo, ulong hi)
    {
        if (q < Quads)
        {
            int at = ((q / RowQuads) * stride) + ((q % RowQuads) * 4);
            slice[at] = Tf32.Round(Interop.IntAsFloat((uint)lo));
            slice[at + 1] = Tf32.Round(Interop.IntAsFloat((uint)(lo >> 32)));
            slice[at + 2] = Tf32.Round(Interop.IntAsFloat((uint)hi));
            slice[at + 3] = Tf32.Round(Interop.IntAsFloat((uint)(hi >> 32)));
        }
    }
}
