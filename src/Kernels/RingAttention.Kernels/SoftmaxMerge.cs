using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RingAttention.Kernels;

/// <summary>2^x and log2 x as a merge's target computes them (host: <see cref="HostMath"/>; PTX intrinsics or float-only
/// polynomials in the GPU kernels). A struct, so that the merge is specialised per target, on the CPU and in ILGPU.</summary>
public interface IMergeMath
{
    float Exp2(float x);

    float Log2(float x);
}

/// <summary>The host's 2^x and log2 x.</summary>
public readonly struct HostMath : IMergeMath
{
    public float Exp2(float x) => float.Exp2(x);

    public float Log2(float x) => float.Log2(x);
}

/// <summary>
/// The one definition of the stable merge of two partial attention results over disjoint key sets, called by every
/// backend: the CPU tile loop, the tensor-core kernels' epilogue and the portable kernel (each with its own
/// <see cref="IMergeMath"/>). For one row, (o_a, lse_a) and (o_b, lse_b) with o normalised and
/// lse = ln Σ exp(scaled logits):
/// <code>
///   lse = ln(e^lse_a + e^lse_b)          o = (e^lse_a·o_a + e^lse_b·o_b) / e^lse
/// With top = max(lse_a, lse_b), a = e^(lse_a - top), b = e^(lse_b - top) (one of them is 1, the other in [0, 1]):
///   o = a/(a+b)·o_a + b/(a+b)·o_b        lse = top + ln(a + b),  a + b in [1, 2]
/// </code>
/// Only exponentials of non-positive arguments are formed, so nothing overflows for any finite lse (1e30 included),
/// and the difference lse_a - lse_b of two close values is exact in float32 (Sterbenz). A block's own lse comes from
/// its running maximum m (log2 units) and denominator l as lse = (m + log2 l)·ln 2 (<see cref="BlockLse{TMath}"/>).
/// -inf (no key seen) on either side is decided before the formula: merging with an empty side is an exact copy or
/// the identity, never NaN. The merge is commutative and associative up to rounding, so block order cannot change
/// the answer.
/// </summary>
public static class SoftmaxMerge
{
    public const float Ln2 = 0.693147180559945309f;

    public const float Log2E = 1.44269504088896341f;

    /// <summary>
    /// Weights of the two normalised outputs and the merged lse: o = <paramref name="weightA"/>·o_a +
    /// <paramref name="weightB"/>·o_b. An empty side (lse -inf) gets weight 0 and the other weight 1 exactly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Combine<TMath>(float lseA, float lseB, out float weightA, out float weightB)
        where TMath : struct, IMergeMath
    {
        if (lseB == float.NegativeInfinity)
        {
            weightA = 1f;
            weightB = 0f;
            return lseA;
        }

        if (lseA == float.NegativeInfinity)
        {
            weightA = 0f;
            weightB = 1f;
            return lseB;
        }

        float top = lseA > lseB ? lseA : lseB;
        float a = default(TMath).Exp2((lseA - top) * Log2E);
        float b = default(TMath).Exp2((lseB - top) * Log2E);
        float sum = a + b;
        weightA = a / sum;
        weightB = b / sum;
        return top + (default(TMath).Log2(sum) * Ln2);
    }

    /// <summary>The lse of a finished block row from its running max <paramref name="maxLog2"/> (scaled logits in log2 units) and its denominator (&gt; 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BlockLse<TMath>(float maxLog2, float denominator)
        where TMath : struct, IMergeMath => (maxLog2 + default(TMath).Log2(denominator)) * Ln2;

    /// <summary>
    /// Merges one row (<paramref name="otherOutput"/>, <paramref name="otherLse"/>) into
    /// (<paramref name="output"/>, <paramref name="lse"/>). Both outputs are normalised, <c>[headDim]</c>.
    /// </summary>
    public static void MergeRow(Span<float> output, ref float lse, ReadOnlySpan<float> otherOutput, float otherLse)
    {
        if (output.Length != otherOutput.Length)
        {
            throw new ArgumentException($"otherOutput has {otherOutput.Length} elements but output has {output.Length}", nameof(otherOutput));
        }

        lse = Combine<HostMath>(lse, otherLse, out float weight, out float otherWeight);
        if (otherWeight == 0f)
        {
            return; // nothing seen on the other side: identity
        }

        if (weight == 0f)
        {
            otherOutput.CopyTo(output); // nothing seen here (or negligible): take the other side exactly
            return;
        }

        Blend(output, weight, otherOutput, otherWeight);
    }

    /// <summary>
    /// Merges every row of <paramref name="other"/> into <paramref name="accumulator"/> (same rows, heads, headDim).
    /// </summary>
    public static void MergeInto(PartialResult accumulator, PartialResult other)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        ArgumentNullException.ThrowIfNull(other);
        if (accumulator.Rows != other.Rows || accumulator.Heads != other.Heads || accumulator.HeadDim != other.HeadDim)
        {
            throw new ArgumentException(
                $"other is [{other.Rows}, {other.Heads}, {other.HeadDim}] but accumulator is [{accumulator.Rows}, {accumulator.Heads}, {accumulator.HeadDim}]",
                nameof(other));
        }

        MergeInto(accumulator, other.Output, other.Lse);
    }

    /// <summary>
    /// <see cref="MergeInto(PartialResult, PartialResult)"/> from another result's arrays (o [rows, heads, headDim], lse
    /// [heads, rows]), without copying them into a <see cref="PartialResult"/> first. Large results merge one head per
    /// task (each (row, head) is independent, so the bits do not depend on the split).
    /// </summary>
    public static void MergeInto(PartialResult accumulator, float[] otherOutput, float[] otherLse)
    {
        ArgumentNullException.ThrowIfNull(accumulator);
        ArgumentNullException.ThrowIfNull(otherOutput);
        ArgumentNullException.ThrowIfNull(otherLse);
        if (otherOutput.Length != accumulator.Output.Length || otherLse.Length != accumulator.Lse.Length)
        {
            throw new ArgumentException(
                $"other has {otherOutput.Length} output and {otherLse.Length} lse values but the accumulator [{accumulator.Rows}, {accumulator.Heads}, {accumulator.HeadDim}] has {accumulator.Output.Length} and {accumulator.Lse.Length}",
                nameof(otherOutput));
        }

        int rows = accumulator.Rows;
        int headDim = accumulator.HeadDim;
        void Head(int h)
        {
            for (int r = 0; r < rows; r++)
            {
                int outOffset = (r * accumulator.Heads + h) * headDim;
                MergeRow(
                    accumulator.Output.AsSpan(outOffset, headDim),
                    ref accumulator.Lse[h * rows + r],
                    otherOutput.AsSpan(outOffset, headDim),
                    otherLse[h * rows + r]);
            }
        }

        if (accumulator.Output.Length >= 1 << 20)
        {
            Parallel.For(0, accumulator.Heads, Head);
        }
        else
        {
            for (int h = 0; h < accumulator.Heads; h++)
            {
                Head(h);
            }
        }
    }

    /// <summary>output = weight · output + otherWeight · other, vectorised.</summary>
    private static void Blend(Span<float> output, float weight, ReadOnlySpan<float> other, float otherWeight)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && output.Length >= Vector<float>.Count)
        {
            var o = MemoryMarshal.Cast<float, Vector<float>>(output);
            var b = MemoryMarshal.Cast<float, Vector<float>>(other);
            var wa = new Vector<float>(weight);
            var wb = new Vector<float>(otherWeight);
            for (int v = 0; v < o.Length; v++)
            {
                o[v] = (wa * o[v]) + (wb * b[v]);
            }

            i = o.Length * Vector<float>.Count;
        }

        for (; i < output.Length; i++)
        {
            output[i] = (weight * output[i]) + (otherWeight * other[i]);
        }
    }
}
