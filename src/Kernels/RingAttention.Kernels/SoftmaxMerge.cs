using System.Numerics;
using System.Runtime.InteropServices;

namespace RingAttention.Kernels;

/// <summary>
/// The stable merge of two partial attention results over disjoint key sets (ring-flash-attention
/// <c>utils.py</c> form). For one row, (o_a, lse_a) and (o_b, lse_b) with o normalised and
/// lse = log Σ exp(scaled logits):
/// <code>
///   lse   = log(e^lse_a + e^lse_b)
///   o     = (e^lse_a·o_a + e^lse_b·o_b) / e^lse
/// Write w = e^lse_b / (e^lse_a + e^lse_b) = 1 / (1 + e^(lse_a - lse_b)) = sigmoid(lse_b - lse_a). Then
///   o     = (1 - w)·o_a + w·o_b = o_a - sigmoid(lse_b - lse_a)·(o_a - o_b)
///   lse   = lse_a + log(1 + e^(lse_b - lse_a)) = lse_a - log(sigmoid(lse_a - lse_b)) = lse_a - logsigmoid(lse_a - lse_b)
/// </code>
/// sigmoid and logsigmoid are evaluated without overflow for any finite difference (exp of a non-positive
/// argument only), so neither e^lse nor the max subtraction is ever formed. -inf (no key seen) on either side
/// is handled before the formula: merging with an empty side is an exact copy or identity, never NaN.
/// The merge is commutative and associative up to rounding, so block order cannot change the answer.
/// </summary>
public static class SoftmaxMerge
{
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

        if (float.IsNegativeInfinity(otherLse))
        {
            return; // nothing seen on the other side: identity
        }

        if (float.IsNegativeInfinity(lse))
        {
            otherOutput.CopyTo(output); // nothing seen here yet: take the other side exactly
            lse = otherLse;
            return;
        }

        // Weights in float64: the difference of two lse values near 1e3 keeps its low bits.
        double diff = (double)otherLse - lse;
        float weight = (float)Sigmoid(diff);
        lse = (float)(lse - LogSigmoid(-diff));
        Lerp(output, otherOutput, weight);
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

        int rows = accumulator.Rows;
        int headDim = accumulator.HeadDim;
        for (int h = 0; h < accumulator.Heads; h++)
        {
            for (int r = 0; r < rows; r++)
            {
                int outOffset = (r * accumulator.Heads + h) * headDim;
                MergeRow(
                    accumulator.Output.AsSpan(outOffset, headDim),
                    ref accumulator.Lse[h * rows + r],
                    other.Output.AsSpan(outOffset, headDim),
                    other.Lse[h * rows + r]);
            }
        }
    }

    /// <summary>sigmoid(x) = 1 / (1 + e^-x), with exp of a non-positive argument only.</summary>
    public static double Sigmoid(double x)
    {
        if (x >= 0)
        {
            return 1 / (1 + Math.Exp(-x));
        }

        double e = Math.Exp(x);
        return e / (1 + e);
    }

    /// <summary>log(sigmoid(x)) = min(x, 0) - log(1 + e^-|x|), exact for large |x| where the naive form gives log(0).</summary>
    public static double LogSigmoid(double x) => Math.Min(x, 0) - Math.Log(1 + Math.Exp(-Math.Abs(x)));

    /// <summary>output -= weight · (output - other), vectorised.</summary>
    private static void Lerp(Span<float> output, ReadOnlySpan<float> other, float weight)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && output.Length >= Vector<float>.Count)
        {
            var o = MemoryMarshal.Cast<float, Vector<float>>(output);
            var b = MemoryMarshal.Cast<float, Vector<float>>(other);
            var w = new Vector<float>(weight);
            for (int v = 0; v < o.Length; v++)
            {
                o[v] -= w * (o[v] - b[v]);
            }

            i = o.Length * Vector<float>.Count;
        }

        for (; i < output.Length; i++)
        {
            output[i] -= weight * (output[i] - other[i]);
        }
    }
}
