using RingAttention.Tensors;

namespace RingAttention.Attention;

/// <summary>
/// Naive float64 attention for ONE query row and one head: the oracle every backend is tested against.
/// Cost is O(keys · headDim) per row and O(headDim) memory, so sampled rows of a 1M-token output can be checked
/// without ever forming the T×T score matrix. Two passes over the keys (max, then exp-sum) subtract the maximum
/// logit before exponentiating, so no logit overflows whatever its magnitude.
/// </summary>
public static class ReferenceAttention
{
    /// <summary>Reads element <c>[row, head, dim]</c> of a tensor, in any storage type, as float64.</summary>
    public delegate double ElementReader(int row, int head, int dim);

    /// <summary>
    /// Attention of one query row against keys given by accessors.
    /// </summary>
    /// <param name="spec">Heads, kvHeads, headDim, mask and scale.</param>
    /// <param name="queryPosition">Global sequence position of the query row (for the mask).</param>
    /// <param name="head">Query head h; it reads kv head h / (heads / kvHeads).</param>
    /// <param name="query">Element <c>dim</c> of the query row at head <paramref name="head"/>.</param>
    /// <param name="keyCount">Number of key rows.</param>
    /// <param name="keyPosition">Global position of key row i.</param>
    /// <param name="key">k: <c>[keyCount, kvHeads, headDim]</c>.</param>
    /// <param name="value">v: <c>[keyCount, kvHeads, headDim]</c>.</param>
    /// <param name="output">Receives o (headDim values); all zero when no key is visible.</param>
    /// <returns>lse: natural log of Σ exp(scale · q·k) over visible keys, or -inf when none is visible.</returns>
    public static double ComputeRow(
        AttentionSpec spec, long queryPosition, int head, Func<int, double> query,
        int keyCount, Func<int, long> keyPosition, ElementReader key, ElementReader value, Span<double> output)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(keyPosition);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        Span<double> q = stackalloc double[AttentionSpec.MaxHeadDim];
        q = q[..CheckShape(spec, head, output)];
        for (int d = 0; d < q.Length; d++)
        {
            q[d] = query(d);
        }

        return Compute(spec, queryPosition, head, q, new DelegateKeys(keyCount, keyPosition, key, value), output);
    }

    /// <summary>
    /// Attention of row <paramref name="queryRow"/> of a q tensor against k/v tensors, all in storage type
    /// <see cref="AttentionSpec.DType"/>: <c>queries: [qRows, heads, headDim]</c>, <c>keys, values: [kvRows, kvHeads, headDim]</c>,
    /// rows at the global positions of their spans, laid out span after span.
    /// </summary>
    /// <returns>lse (natural log, scaled logits), -inf when no key is visible.</returns>
    public static double ComputeRow(
        AttentionSpec spec, ReadOnlySpan<byte> queries, IReadOnlyList<TokenSpan> querySpans, int queryRow, int head,
        ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, IReadOnlyList<TokenSpan> keySpans, Span<double> output)
    {
        ArgumentNullException.ThrowIfNull(querySpans);
        ArgumentNullException.ThrowIfNull(keySpans);
        int headDim = CheckShape(spec, head, output);
        Span<double> q = stackalloc double[AttentionSpec.MaxHeadDim];
        q = q[..headDim];
        long baseIndex = ((long)queryRow * spec.Heads + head) * headDim;
        for (int d = 0; d < headDim; d++)
        {
            q[d] = ElementConvert.Read(queries, spec.DType, baseIndex + d);
        }

        var source = new SpanKeys(spec.DType, spec.KvHeads, headDim, keys, values, keySpans);
        return Compute(spec, PositionOf(querySpans, queryRow), head, q, source, output);
    }

    /// <summary>Global position of row <paramref name="row"/> of rows laid out span after span.</summary>
    public static long PositionOf(IReadOnlyList<TokenSpan> spans, int row)
    {
        ArgumentNullException.ThrowIfNull(spans);
        int offset = row;
        foreach (var span in spans)
        {
            if (offset < span.Count)
            {
                return span.Start + offset;
            }

            offset -= span.Count;
        }

        throw new ArgumentOutOfRangeException(nameof(row), row, "row lies beyond the spans");
    }

    /// <summary>
    /// Allowed error of a backend against this reference, by storage type. Output errors are scaled by the
    /// magnitude of v (o is a convex combination of v rows, so its rounding error is proportional to max|v|,
    /// not to |o|, which may cancel to ~0); lse errors by max(1, |lse|).
    /// </summary>
    /// <param name="Output">Allowed |o - o_ref| / magnitude.</param>
    /// <param name="Lse">Allowed |lse - lse_ref| / max(1, |lse_ref|).</param>
    public readonly record struct Tolerance(double Output, double Lse)
    {
        /// <summary>
        /// Both sides read the SAME stored q/k/v values (f16/bf16 widen to f32 exactly), so storage rounding of the
        /// inputs is not part of the error. What remains is fp32 accumulation (unit roundoff 6e-8; ~1e-6 after a few
        /// thousand keys with online rescaling; 1e-5 leaves 10x margin) and, on backends that feed P to the PV
        /// product in the storage type (tensor cores), the rounding of P and of the output: f16 unit roundoff
        /// 2^-11 = 4.9e-4 and bf16 2^-8 = 3.9e-3, allowed about 4x: 2e-3 and 1.6e-2.
        /// </summary>
        public static Tolerance For(ElementType type) => type switch
        {
            ElementType.F32 => new(1e-5, 1e-5),
            ElementType.F16 => new(2e-3, 2e-3),
            ElementType.BF16 => new(1.6e-2, 1.6e-2),
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
        };
    }

    /// <summary>Outcome of <see cref="CompareRow"/>: <see cref="Passed"/> and, when not, a message naming the element.</summary>
    public readonly record struct RowComparison(bool Passed, double MaxOutputError, double LseError, string Failure);

    /// <summary>
    /// Checks a backend's output row and lse against the reference. NaN or infinity in the output never passes,
    /// nor an lse that is NaN or differs in being -inf; both lse -inf (no visible key) passes when the output is ~0.
    /// </summary>
    /// <param name="actual">The backend's output row (headDim values).</param>
    /// <param name="actualLse">The backend's lse for the row.</param>
    /// <param name="expected">The reference output row.</param>
    /// <param name="expectedLse">The reference lse.</param>
    /// <param name="tolerance">Allowed errors, normally <see cref="Tolerance.For"/> of the storage type.</param>
    /// <param name="magnitude">Scale of the output error, normally max|v| over the keys (at least 1e-30 is used).</param>
    public static RowComparison CompareRow(
        ReadOnlySpan<float> actual, double actualLse, ReadOnlySpan<double> expected, double expectedLse, Tolerance tolerance, double magnitude)
    {
        if (actual.Length != expected.Length)
        {
            throw new ArgumentException($"actual has {actual.Length} elements but expected has {expected.Length}", nameof(actual));
        }

        double scale = Math.Max(magnitude, 1e-30);
        double worst = 0;
        for (int d = 0; d < actual.Length; d++)
        {
            if (!float.IsFinite(actual[d]))
            {
                return new(false, double.NaN, double.NaN, $"o[{d}] = {actual[d]} is not finite");
            }

            // Written so that a NaN error fails: !(err <= limit).
            double error = Math.Abs(actual[d] - expected[d]);
            worst = Math.Max(worst, error);
            if (!(error <= tolerance.Output * scale))
            {
                return new(false, error, double.NaN, $"o[{d}] = {actual[d]} but reference {expected[d]} (|diff| {error:G3} > {tolerance.Output:G3} x {scale:G3})");
            }
        }

        if (double.IsNaN(actualLse) || double.IsNaN(expectedLse))
        {
            return new(false, worst, double.NaN, $"lse is NaN (actual {actualLse}, reference {expectedLse})");
        }

        if (double.IsNegativeInfinity(actualLse) || double.IsNegativeInfinity(expectedLse))
        {
            bool both = actualLse == expectedLse;
            return new(both, worst, both ? 0 : double.PositiveInfinity, both ? string.Empty : $"lse = {actualLse} but reference {expectedLse}");
        }

        double lseError = Math.Abs(actualLse - expectedLse);
        if (!(lseError <= tolerance.Lse * Math.Max(1, Math.Abs(expectedLse))))
        {
            return new(false, worst, lseError, $"lse = {actualLse} but reference {expectedLse} (|diff| {lseError:G3})");
        }

        return new(true, worst, lseError, string.Empty);
    }

    private static int CheckShape(AttentionSpec spec, int head, Span<double> output)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(head);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(head, spec.Heads);
        if (output.Length != spec.HeadDim)
        {
            throw new ArgumentException($"output has {output.Length} elements but headDim is {spec.HeadDim}", nameof(output));
        }

        return spec.HeadDim;
    }

    private static double Compute<TKeys>(AttentionSpec spec, long queryPosition, int head, ReadOnlySpan<double> q, TKeys keys, Span<double> output)
        where TKeys : IKeySource, allows ref struct
    {
        int kvHead = head / spec.GroupSize;
        double scale = spec.EffectiveScale;
        var mask = spec.Mask;

        // Pass 1: the largest visible logit. Recomputing the dot products in pass 2 keeps memory O(headDim).
        double max = double.NegativeInfinity;
        for (int i = 0; i < keys.Count; i++)
        {
            if (mask.IsVisible(queryPosition, keys.Position(i)))
            {
                max = Math.Max(max, scale * Dot(q, keys, i, kvHead));
            }
        }

        output.Clear();
        if (double.IsNegativeInfinity(max))
        {
            return double.NegativeInfinity;
        }

        // Pass 2: Σ exp(s - max) ≤ keyCount and every term ≤ 1, so nothing overflows.
        double sum = 0;
        for (int i = 0; i < keys.Count; i++)
        {
            if (!mask.IsVisible(queryPosition, keys.Position(i)))
            {
                continue;
            }

            double p = Math.Exp(scale * Dot(q, keys, i, kvHead) - max);
            sum += p;
            for (int d = 0; d < output.Length; d++)
            {
                output[d] += p * keys.Value(i, kvHead, d);
            }
        }

        for (int d = 0; d < output.Length; d++)
        {
            output[d] /= sum;
        }

        return max + Math.Log(sum);
    }

    private static double Dot<TKeys>(ReadOnlySpan<double> q, TKeys keys, int row, int kvHead)
        where TKeys : IKeySource, allows ref struct
    {
        double dot = 0;
        for (int d = 0; d < q.Length; d++)
        {
            dot += q[d] * keys.Key(row, kvHead, d);
        }

        return dot;
    }

    private interface IKeySource
    {
        int Count { get; }

        long Position(int row);

        double Key(int row, int kvHead, int dim);

        double Value(int row, int kvHead, int dim);
    }

    private readonly struct DelegateKeys(int count, Func<int, long> position, ElementReader key, ElementReader value) : IKeySource
    {
        public int Count => count;

        public long Position(int row) => position(row);

        public double Key(int row, int kvHead, int dim) => key(row, kvHead, dim);

        public double Value(int row, int kvHead, int dim) => value(row, kvHead, dim);
    }

    private readonly ref struct SpanKeys : IKeySource
    {
        private readonly ElementType _type;
        private readonly int _kvHeads;
        private readonly int _headDim;
        private readonly ReadOnlySpan<byte> _keys;
        private readonly ReadOnlySpan<byte> _values;
        private readonly IReadOnlyList<TokenSpan> _spans;

        public SpanKeys(ElementType type, int kvHeads, int headDim, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, IReadOnlyList<TokenSpan> spans)
        {
            Count = spans.Sum(s => s.Count);
            long bytes = (long)Count * kvHeads * headDim * type.Size();
            if (keys.Length != bytes || values.Length != bytes)
            {
                throw new ArgumentException($"keys and values must hold {Count} rows x {kvHeads} kvHeads x {headDim} dims of {type} ({bytes} bytes); got {keys.Length} and {values.Length}", nameof(keys));
            }

            _type = type;
            _kvHeads = kvHeads;
            _headDim = headDim;
            _keys = keys;
            _values = values;
            _spans = spans;
        }

        public int Count { get; }

        public long Position(int row) => PositionOf(_spans, row);

        public double Key(int row, int kvHead, int dim) => ElementConvert.Read(_keys, _type, Index(row, kvHead, dim));

        public double Value(int row, int kvHead, int dim) => ElementConvert.Read(_values, _type, Index(row, kvHead, dim));

        private long Index(int row, int kvHead, int dim) => ((long)row * _kvHeads + kvHead) * _headDim + dim;
    }
}
