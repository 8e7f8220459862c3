using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Bench.Cpu;

/// <summary>One decode step on the CPU backend: the decode loop against the tile loop on the same inputs.</summary>
/// <param name="MaxDifference">Largest |o| difference between the two (both are float32 of the same inputs).</param>
internal readonly record struct DecodeMeasurement(int Keys, Measurement Loop, Measurement Tiles, double MaxDifference);

/// <summary>
/// A session shard's decode on the CPU: one query row at the end of <c>keys</c> keys (Hq 32 / Hkv 8, d 128, bf16,
/// causal), <see cref="CpuAttentionBackend"/> with the decode loop and without it (<see cref="CpuAttentionOptions.DecodeLoop"/>).
/// </summary>
internal static class DecodeBench
{
    public static DecodeMeasurement Measure(int keys, int threads, int warmups, int runs)
    {
        var spec = new AttentionSpec(keys, 32, 8, 128, ElementType.BF16, AttentionMask.CausalMask).Validate();
        var random = new Random(5);
        TensorRows Rows(int heads, TokenSpan span)
        {
            var values = new float[(long)span.Count * heads * spec.HeadDim];
            for (long i = 0; i < values.Length; i++)
            {
                values[i] = (2 * random.NextSingle()) - 1;
            }

            var data = new byte[values.Length * 2];
            ElementConvert.FromSingle(values, spec.DType, data);
            return new TensorRows(spec.DType, heads, spec.HeadDim, [span], data);
        }

        var queries = Rows(spec.Heads, new TokenSpan(keys - 1, 1));
        var keyValues = new KeyValueBlock(Rows(spec.KvHeads, new TokenSpan(0, keys)), Rows(spec.KvHeads, new TokenSpan(0, keys)));
        Measurement Time(bool loop, PartialResult result)
        {
            using var backend = new CpuAttentionBackend(new CpuAttentionOptions { MaxDegreeOfParallelism = threads, DecodeLoop = loop });
            return Timing.Median(warmups, runs, threads, result.Reset, () => backend.Compute(spec, queries, keyValues, result));
        }

        var withLoop = new PartialResult(1, spec.Heads, spec.HeadDim);
        var withTiles = new PartialResult(1, spec.Heads, spec.HeadDim);
        var loop = Time(true, withLoop);
        var tiles = Time(false, withTiles);
        double worst = 0;
        for (int i = 0; i < withLoop.Output.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(withLoop.Output[i] - withTiles.Output[i]));
        }

        return new DecodeMeasurement(keys, loop, tiles, worst);
    }
}
