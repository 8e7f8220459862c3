using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Tests;

/// <summary>
/// One generated attention problem: q/k/v filled from a fixed seed with N(0, 1) values (times
/// <paramref name="Amplitude"/>), stored in the spec's dtype, rows at the given global spans.
/// </summary>
public sealed record AttentionCase(AttentionSpec Spec, TokenSpan[] QuerySpans, TokenSpan[] KeySpans, int Seed, float Amplitude = 1f)
{
    private TensorRows? _queries;
    private KeyValueBlock? _keyValues;

    public TensorRows Queries => _queries ??= Random(Spec.Heads, QuerySpans, Seed);

    public KeyValueBlock KeyValues => _keyValues ??= new KeyValueBlock(Random(Spec.KvHeads, KeySpans, Seed + 1), Random(Spec.KvHeads, KeySpans, Seed + 2));

    /// <summary>max |v| over the stored values: the scale of the output error (o is a convex combination of v rows).</summary>
    public double ValueMagnitude
    {
        get
        {
            var data = KeyValues.Values.Data.Span;
            long count = data.Length / Spec.DType.Size();
            double max = 0;
            for (long i = 0; i < count; i++)
            {
                max = Math.Max(max, Math.Abs(ElementConvert.Read(data, Spec.DType, i)));
            }

            return max;
        }
    }

    /// <summary>Contiguous case: queries and keys are the same span [start, start + tokens).</summary>
    public static AttentionCase SelfAttention(int tokens, int heads, int kvHeads, int headDim, ElementType type, AttentionMask mask, int seed, int start = 0) =>
        new(new AttentionSpec(start + tokens, heads, kvHeads, headDim, type, mask).Validate(), [new(start, tokens)], [new(start, tokens)], seed);

    public PartialResult NewAccumulator() => new(Queries.Rows, Spec.Heads, Spec.HeadDim);

    /// <summary>A kv block made of some rows of this case's keys (for splitting keys into blocks).</summary>
    public KeyValueBlock Slice(TokenSpan[] spans)
    {
        return new KeyValueBlock(Pick(KeyValues.Keys, spans), Pick(KeyValues.Values, spans));
    }

    private TensorRows Pick(TensorRows source, TokenSpan[] spans)
    {
        int rowBytes = source.RowBytes;
        var data = new byte[spans.Sum(s => s.Count) * rowBytes];
        int offset = 0;
        foreach (var span in spans)
        {
            int row = RowOf(source.Spans, span.Start);
            source.Data.Span.Slice(row * rowBytes, span.Count * rowBytes).CopyTo(data.AsSpan(offset));
            offset += span.Count * rowBytes;
        }

        return new TensorRows(source.Type, source.Heads, source.HeadDim, spans, data);
    }

    private static int RowOf(IReadOnlyList<TokenSpan> spans, int position)
    {
        int row = 0;
        foreach (var span in spans)
        {
            if (position >= span.Start && position < span.End)
            {
                return row + position - span.Start;
            }

            row += span.Count;
        }

        throw new ArgumentOutOfRangeException(nameof(position));
    }

    private TensorRows Random(int heads, TokenSpan[] spans, int seed)
    {
        var random = new Random(seed);
        int rows = spans.Sum(s => s.Count);
        var values = new float[rows * heads * Spec.HeadDim];
        for (int i = 0; i < values.Length; i++)
        {
            // Box-Muller: N(0, 1) logits like real q/k after layer norm, not the uniform [0, 1) that hides sign bugs.
            double u = 1 - random.NextDouble();
            double w = random.NextDouble();
            values[i] = Amplitude * (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * w));
        }

        var data = new byte[values.Length * Spec.DType.Size()];
        ElementConvert.FromSingle(values, Spec.DType, data);
        return new TensorRows(Spec.DType, heads, Spec.HeadDim, spans, data);
    }
}
