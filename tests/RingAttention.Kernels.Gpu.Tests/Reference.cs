using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>Test data and a naive float64 oracle over global positions (independent of every backend).</summary>
internal static class Reference
{
    public static TensorRows Random(Random rng, ElementType type, int heads, int dim, params TokenSpan[] spans)
    {
        int rows = spans.Sum(s => s.Count);
        var values = new float[rows * heads * dim];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1) * 1.5f;
        }

        var bytes = new byte[values.Length * type.Size()];
        ElementConvert.FromSingle(values, type, bytes);
        return new TensorRows(type, heads, dim, spans, bytes);
    }

    /// <summary>O [rows, heads, dim] and LSE [heads, rows] of q against every kv block at once, in float64.</summary>
    public static (double[] O, double[] Lse) Attention(AttentionSpec spec, TensorRows q, IReadOnlyList<KeyValueBlock> blocks)
    {
        int d = spec.HeadDim;
        double scale = spec.EffectiveScale;
        var qPos = Positions(q.Spans);
        var o = new double[q.Rows * spec.Heads * d];
        var lse = new double[spec.Heads * q.Rows];
        for (int h = 0; h < spec.Heads; h++)
        {
            int kvh = h / spec.GroupSize;
            for (int i = 0; i < q.Rows; i++)
            {
                var scores = new List<(double S, KeyValueBlock B, int J)>();
                foreach (var b in blocks)
                {
                    var kPos = Positions(b.Keys.Spans);
                    for (int j = 0; j < b.Keys.Rows; j++)
                    {
                        if (!spec.Mask.IsVisible(qPos[i], kPos[j]))
                        {
                            continue;
                        }

                        double s = 0;
                        for (int c = 0; c < d; c++)
                        {
                            s += Read(q, i, h, c) * Read(b.Keys, j, kvh, c);
                        }

                        scores.Add((s * scale, b, j));
                    }
                }

                if (scores.Count == 0)
                {
                    lse[(h * q.Rows) + i] = double.NegativeInfinity;
                    continue;
                }

                double max = scores.Max(x => x.S);
                double sum = scores.Sum(x => Math.Exp(x.S - max));
                lse[(h * q.Rows) + i] = max + Math.Log(sum);
                foreach (var (s, b, j) in scores)
                {
                    double p = Math.Exp(s - max) / sum;
                    for (int c = 0; c < d; c++)
                    {
                        o[(((i * spec.Heads) + h) * d) + c] += p * Read(b.Values, j, kvh, c);
                    }
                }
            }
        }

        return (o, lse);
    }

    private static double Read(TensorRows t, int row, int head, int c) =>
        ElementConvert.Read(t.Data.Span, t.Type, (((long)row * t.Heads) + head) * t.HeadDim + c);

    private static int[] Positions(IReadOnlyList<TokenSpan> spans) => spans.SelectMany(s => Enumerable.Range(s.Start, s.Count)).ToArray();
}
