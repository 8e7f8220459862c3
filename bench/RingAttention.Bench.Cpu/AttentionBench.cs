using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Bench.Cpu;

/// <summary>One attention shape to time: self-attention of T tokens, H heads (= kv heads), head dim D.</summary>
internal sealed record AttentionCaseSpec(int Tokens, int Heads, int HeadDim, ElementType Type, bool Causal)
{
    /// <summary>FlashAttention's count: 4·T²·H·D (QK^T and PV, 2 FLOPs per FMA), halved for causal.</summary>
    public double Flops => 4.0 * Tokens * Tokens * Heads * HeadDim / (Causal ? 2 : 1);
}

internal static class AttentionBench
{
    public static Measurement Measure(AttentionCaseSpec c, CpuAttentionOptions options, int warmups, int runs)
    {
        var spec = new AttentionSpec(c.Tokens, c.Heads, c.Heads, c.HeadDim, c.Type, new AttentionMask(c.Causal, null)).Validate();
        TokenSpan[] spans = [new(0, c.Tokens)];
        var queries = Random(spec, spans, seed: 1);
        var keyValues = new KeyValueBlock(Random(spec, spans, seed: 2), Random(spec, spans, seed: 3));
        var accumulator = new PartialResult(c.Tokens, c.Heads, c.HeadDim);
        using var backend = new CpuAttentionBackend(options);
        return Timing.Median(warmups, runs, options.MaxDegreeOfParallelism, accumulator.Reset, () => backend.Compute(spec, queries, keyValues, accumulator));
    }

    private static TensorRows Random(AttentionSpec spec, TokenSpan[] spans, int seed)
    {
        var random = new Random(seed);
        var values = new float[(long)spec.Tokens * spec.Heads * spec.HeadDim];
        for (long i = 0; i < values.Length; i++)
        {
            values[i] = (2 * random.NextSingle()) - 1;
        }

        var data = new byte[values.Length * spec.DType.Size()];
        if (spec.DType == ElementType.F32)
        {
            Buffer.BlockCopy(values, 0, data, 0, data.Length);
        }
        else
        {
            ElementConvert.FromSingle(values, spec.DType, data);
        }

        return new TensorRows(spec.DType, spec.Heads, spec.HeadDim, spans, data);
    }
}
