using System.Diagnostics;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;

namespace RingAttention.Cli.Bench;

/// <summary>One decode shape on one split kernel: median and fastest attend, K/V bytes read per second, and the largest
/// differences from the first kernel of the same shape (0 for that one).</summary>
public sealed record DecodeTiming(
    string Dtype, int Keys, int Rows, int Hq, int Hkv, int Dim, int PageTokens, int Shards, string Kernel, int TargetWarps, double MedianMs, double MinMs, double GBps,
    double MaxOutputDiff, double MaxLseDiff, bool Finite);

/// <summary>
/// The split-K decode path alone (<see cref="IAttentionBackend.AccumulateShards"/>: the chunk table, split and merge
/// launches, one sync), as a session's shards on one device run it: K/V in pages of its own allocations filled on the device, q rows at
/// the end of the context (every key visible, causal). Each split kernel of <see cref="Kernels"/> times the same
/// buffers in turn; the kernels' outputs are compared with the first's.
/// </summary>
public static class DecodeTimer
{
    /// <summary>The split kernels: the float one (<see cref="DecodeKernel"/>), the tensor-core one
    /// (<see cref="DecodeMmaKernel"/>) and Hopper's tiled kernel over chunk tables (<see cref="ChunkedTiles"/>, CUDA only).</summary>
    public static readonly string[] Kernels = ["float", "mma", "tiled"];

    public static IReadOnlyList<DecodeTiming> Time(IlgpuAttentionBackend backend, AttentionSpec spec, int rows, int pageTokens, IReadOnlyList<string> kernels, int targetWarps, int reps, int shards = 1)
    {
        bool bf16 = spec.DType == ElementType.BF16;
        int ownTarget = backend.DecodeTargetWarps;
        var cuda = backend as CudaAttentionBackend;
        int ownTiled = cuda?.TiledChunksMinVectors ?? 0;
        if (kernels.Contains("tiled") && cuda is null)
        {
            throw new SpecValidationException("kernels", "--kernels: 'tiled' runs on a CUDA GPU only (Hopper's warp-specialized kernel)");
        }

        var pages = new List<DeviceKeyValues>();
        try
        {
            for (int first = 0; first < spec.Tokens; first += pageTokens)
            {
                var page = backend.AllocateKeyValues(spec.DType, spec.KvHeads, spec.HeadDim, [new TokenSpan(first, Math.Min(pageTokens, spec.Tokens - first))]);
                pages.Add(page);
                var words = backend.DataView(page).Cast<ushort>();
                DeviceFill.Fill(backend.Accelerator, words, (uint)(2 * pages.Count), bf16);
            }

            using var q = backend.AllocateRows(spec.DType, spec.Heads, spec.HeadDim, [new TokenSpan(spec.Tokens - rows, rows)]);
            DeviceFill.Fill(backend.Accelerator, backend.DataView(q).Cast<ushort>(), 1u, bf16);
            backend.Accelerator.Synchronize();
            var results = new List<DecodeTiming>();
            PartialResult? baseline = null;
            foreach (string kernel in kernels)
            {
                bool mma = kernel == "mma";
                bool tiled = kernel == "tiled";
                backend.UseDecodeMma = kernel != "float";
                backend.DecodeTargetWarps = targetWarps;
                if (cuda is not null)
                {
                    cuda.TiledChunksMinVectors = tiled ? 1 : int.MaxValue;
                }

                long mmaBefore = backend.TensorCoreDecodeLaunches;
                long tiledBefore = backend.TiledChunkLaunches;
                long splitBefore = backend.DecodeLaunches;
                // Shards: consecutive pages each, into accumulators of their own in one AccumulateShards (a session's
                // shards sharing a device's turn), merged on the host for the comparison.
                var groups = Enumerable.Range(0, shards)
                    .Select(s => (IReadOnlyList<DeviceKeyValues>)pages[(s * pages.Count / shards)..((s + 1) * pages.Count / shards)])
                    .ToList();
                var accumulators = groups.Select(_ => backend.CreateAccumulator(rows, spec.Heads, spec.HeadDim)).ToList();
                var result = new PartialResult(rows, spec.Heads, spec.HeadDim);
                var times = new List<double>();
                try
                {
                    backend.AccumulateShards(spec, q, groups, accumulators);
                    backend.Download(accumulators[0], result);
                    foreach (var other in accumulators.Skip(1))
                    {
                        var part = new PartialResult(rows, spec.Heads, spec.HeadDim);
                        backend.Download(other, part);
                        SoftmaxMerge.MergeInto(result, part);
                    }

                    if (backend.DecodeLaunches == splitBefore || (backend.TensorCoreDecodeLaunches > mmaBefore) != mma || (backend.TiledChunkLaunches > tiledBefore) != tiled)
                    {
                        throw new SpecValidationException("kernels", $"the {kernel} split kernel does not serve {rows} rows of {spec.Heads}/{spec.KvHeads} heads, d {spec.HeadDim}, {Dtype(spec.DType)}");
                    }

                    for (int i = 0; i < reps; i++)
                    {
                        long start = Stopwatch.GetTimestamp();
                        backend.AccumulateShards(spec, q, groups, accumulators);
                        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                    }
                }
                finally
                {
                    accumulators.ForEach(a => a.Dispose());
                }

                times.Sort();
                double median = times[times.Count / 2];
                double bytes = 2.0 * spec.Tokens * spec.KvHeads * spec.HeadDim * spec.DType.Size();
                baseline ??= result;
                results.Add(new DecodeTiming(Dtype(spec.DType), spec.Tokens, rows, spec.Heads, spec.KvHeads, spec.HeadDim, pageTokens, shards, kernel, targetWarps,
                    Math.Round(median, 4), Math.Round(times[0], 4), Math.Round(bytes / median / 1e6, 1),
                    MaxDiff(result.Output, baseline.Output), MaxDiff(result.Lse, baseline.Lse),
                    result.Output.All(float.IsFinite) && result.Lse.All(float.IsFinite)));
            }

            return results;
        }
        finally
        {
            backend.UseDecodeMma = backend is CudaAttentionBackend;
            backend.DecodeTargetWarps = ownTarget;
            if (cuda is not null)
            {
                cuda.TiledChunksMinVectors = ownTiled;
            }

            foreach (var page in pages)
            {
                page.Dispose();
            }
        }
    }

    private static string Dtype(ElementType type) => type == ElementType.BF16 ? "bf16" : "f16";

    private static double MaxDiff(float[] a, float[] b)
    {
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs((double)a[i] - b[i]));
        }

        return worst;
    }
}
