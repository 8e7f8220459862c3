using RingAttention.Attention;

namespace RingAttention.Client.Verification;

/// <summary>
/// Float64 attention of a few query rows (every head) against ALL keys, streamed over the keys with an online
/// softmax so memory is O(samples · heads · headDim) whatever the sequence length: sampled rows of a
/// million-token output can be checked without T×T and without holding k and v.
/// </summary>
internal sealed class SampledReference
{
    private readonly AttentionSpec _spec;
    private readonly long[] _positions;
    private readonly double[] _queries;
    private readonly double[] _max;
    private readonly double[] _sum;
    private readonly double[] _accumulator;

    /// <param name="queries">[samples, heads, headDim] in float64.</param>
    public SampledReference(AttentionSpec spec, long[] positions, double[] queries)
    {
        _spec = spec;
        _positions = positions;
        _queries = queries;
        int rows = positions.Length * spec.Heads;
        _max = Enumerable.Repeat(double.NegativeInfinity, rows).ToArray();
        _sum = new double[rows];
        _accumulator = new double[rows * spec.HeadDim];
    }

    /// <summary>Largest |v| seen, the scale of output errors.</summary>
    public double MaxAbsValue { get; private set; }

    /// <summary>Folds in keys and values at global positions [firstPosition, firstPosition + count): the first
    /// [count, kvHeads, headDim] elements of each array.</summary>
    public void AddKeys(long firstPosition, int count, double[] keys, double[] values)
    {
        int d = _spec.HeadDim;
        int kvHeads = _spec.KvHeads;
        double scale = _spec.EffectiveScale;
        for (int i = 0; i < count * kvHeads * d; i++)
        {
            MaxAbsValue = Math.Max(MaxAbsValue, Math.Abs(values[i]));
        }

        Parallel.For(0, _positions.Length * _spec.Heads, row =>
        {
            long position = _positions[row / _spec.Heads];
            int head = row % _spec.Heads;
            int kvHead = head / _spec.GroupSize;
            var q = _queries.AsSpan(row * d, d);
            var acc = _accumulator.AsSpan(row * d, d);
            for (int j = 0; j < count; j++)
            {
                if (!_spec.Mask.IsVisible(position, firstPosition + j))
                {
                    continue;
                }

                int offset = ((j * kvHeads) + kvHead) * d;
                double logit = 0;
                for (int x = 0; x < d; x++)
                {
                    logit += q[x] * keys[offset + x];
                }

                logit *= scale;
                double newMax = Math.Max(_max[row], logit);
                double rescale = Math.Exp(_max[row] - newMax);
                double weight = Math.Exp(logit - newMax);
                _sum[row] = (_sum[row] * rescale) + weight;
                for (int x = 0; x < d; x++)
                {
                    acc[x] = (acc[x] * rescale) + (weight * values[offset + x]);
                }

                _max[row] = newMax;
            }
        });
    }

    /// <summary>Output row (headDim values) and lse of sample <paramref name="sample"/>, head <paramref name="head"/>.</summary>
    public double Result(int sample, int head, Span<double> output)
    {
        int row = (sample * _spec.Heads) + head;
        if (_sum[row] == 0)
        {
            output.Clear();
            return double.NegativeInfinity;
        }

        var acc = _accumulator.AsSpan(row * _spec.HeadDim, _spec.HeadDim);
        for (int x = 0; x < acc.Length; x++)
        {
            output[x] = acc[x] / _sum[row];
        }

        return _max[row] + Math.Log(_sum[row]);
    }
}
