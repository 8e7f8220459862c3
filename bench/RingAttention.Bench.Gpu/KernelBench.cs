using System.Diagnostics;
using System.Text.Json;
using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;

namespace RingAttention.Bench.Gpu;

/// <summary>
/// Device-resident kernel timing: q/k/v filled on the GPU, one launch per repetition between synchronisations,
/// median of the repetitions after warm-up. TFLOP/s = 4·T²·Hq·D / t, halved for causal (FlashAttention's convention).
/// Each shape also reports max_rel_err: ‖o − o64‖ / ‖o64‖ over sampled rows against a float64 reference on the host.
/// </summary>
internal static class KernelBench
{
    public static int Run(Options options)
    {
        if (!GpuBackends.TryCreateCuda(out var created, out string reason))
        {
            Console.Error.WriteLine(reason);
            return 1;
        }

        using var backend = (CudaAttentionBackend)created!;
        Console.Error.WriteLine($"backend {reason}; timing excludes host transfers (q/k/v resident on the device)");
        int reps = int.Parse(options.Get("reps", "10"));
        KernelOptions.Apply(backend, options);
        foreach (string dt in options.List("dtypes", "bf16,f16"))
        {
            foreach (int tokens in options.Ints("tokens", "4096,16384,32768"))
            {
                foreach (string heads in options.List("heads", "32/32,32/8"))
                {
                    foreach (int dim in options.Ints("dims", "128,64"))
                    {
                        foreach (int causal in options.Ints("causal", "0,1"))
                        {
                            int hq = int.Parse(heads.Split('/')[0]), hkv = int.Parse(heads.Split('/')[1]);
                            var type = dt == "bf16" ? ElementType.BF16 : ElementType.F16;
                            var spec = new AttentionSpec(tokens, hq, hkv, dim, type, new AttentionMask(causal != 0, null)).Validate();
                            Console.WriteLine(JsonSerializer.Serialize(Time(backend, spec, reps)));
                        }
                    }
                }
            }
        }

        return 0;
    }

    private static Dictionary<string, object> Time(CudaAttentionBackend backend, AttentionSpec spec, int reps)
    {
        int t = spec.Tokens;
        long qElems = (long)t * spec.Heads * spec.HeadDim, kvElems = (long)t * spec.KvHeads * spec.HeadDim;
        var ws = backend.Workspace;
        ws.Ensure(qElems * 2, kvElems * 2, kvElems * 2, qElems, (long)spec.Heads * t);
        var acc = backend.Accelerator;
        bool bf16 = spec.DType == ElementType.BF16;
        DeviceFill.Fill(acc, ws.Q.View.AsContiguous().Cast<ushort>().SubView(0, qElems), 1u, bf16);
        DeviceFill.Fill(acc, ws.K.View.AsContiguous().Cast<ushort>().SubView(0, kvElems), 2u, bf16);
        DeviceFill.Fill(acc, ws.V.View.AsContiguous().Cast<ushort>().SubView(0, kvElems), 3u, bf16);
        for (int i = 0; i < 2; i++)
        {
            backend.LaunchResident(spec, t, 0, t, 0, merge: false);
        }

        acc.Synchronize();
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            backend.LaunchResident(spec, t, 0, t, 0, merge: false);
            acc.Synchronize();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        double ms = times[times.Count / 2];
        double flops = 4.0 * t * t * spec.Heads * spec.HeadDim * (spec.Mask.Causal ? 0.5 : 1.0);
        return new Dictionary<string, object>
        {
            ["backend"] = "ours",
            ["dtype"] = bf16 ? "bf16" : "fp16",
            ["tokens"] = t,
            ["hq"] = spec.Heads,
            ["hkv"] = spec.KvHeads,
            ["dim"] = spec.HeadDim,
            ["causal"] = spec.Mask.Causal,
            ["kernel"] = backend.Flash.Variant,
            ["median_ms"] = Math.Round(ms, 3),
            ["min_ms"] = Math.Round(times[0], 3),
            ["tflops"] = Math.Round(flops / ms / 1e9, 1),
            ["max_rel_err"] = SampledError(backend, spec),
        };
    }

    /// <summary>Worst relative L2 error of sampled rows (8 rows spread from first to last; heads 0 and last) against float64.</summary>
    private static double SampledError(CudaAttentionBackend backend, AttentionSpec spec)
    {
        int t = spec.Tokens, hq = spec.Heads, hkv = spec.KvHeads, d = spec.HeadDim;
        var ws = backend.Workspace;
        var q = new ushort[(long)t * hq * d];
        var k = new ushort[(long)t * hkv * d];
        var v = new ushort[(long)t * hkv * d];
        var o = new float[(long)t * hq * d];
        ws.Q.View.AsContiguous().Cast<ushort>().SubView(0, q.Length).CopyToCPU(q);
        ws.K.View.AsContiguous().Cast<ushort>().SubView(0, k.Length).CopyToCPU(k);
        ws.V.View.AsContiguous().Cast<ushort>().SubView(0, v.Length).CopyToCPU(v);
        ws.O.View.AsContiguous().SubView(0, o.Length).CopyToCPU(o);
        Func<ushort, double> cv = spec.DType == ElementType.BF16 ? b => ElementConvert.BFloat16ToSingle(b) : b => ElementConvert.HalfToSingle(b);
        double worst = 0;
        var rows = Enumerable.Range(0, 8).Select(i => (int)((long)i * (t - 1) / 7)).Distinct();
        foreach (int h in new[] { 0, hq - 1 })
        {
            int kvh = h / spec.GroupSize;
            foreach (int r in rows)
            {
                int kEnd = spec.Mask.Causal ? r + 1 : t;
                var s = new double[kEnd];
                double max = double.NegativeInfinity;
                for (int j = 0; j < kEnd; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < d; c++)
                    {
                        dot += cv(q[((((long)r * hq) + h) * d) + c]) * cv(k[((((long)j * hkv) + kvh) * d) + c]);
                    }

                    s[j] = dot * spec.EffectiveScale;
                    max = Math.Max(max, s[j]);
                }

                double sum = 0;
                var refRow = new double[d];
                for (int j = 0; j < kEnd; j++)
                {
                    double p = Math.Exp(s[j] - max);
                    sum += p;
                    for (int c = 0; c < d; c++)
                    {
                        refRow[c] += p * cv(v[((((long)j * hkv) + kvh) * d) + c]);
                    }
                }

                double num = 0, den = 0;
                for (int c = 0; c < d; c++)
                {
                    double x = refRow[c] / sum;
                    double e = o[((((long)r * hq) + h) * d) + c] - x;
                    num += e * e;
                    den += x * x;
                }

                worst = Math.Max(worst, Math.Sqrt(num / Math.Max(den, 1e-30)));
            }
        }

        return Math.Round(worst, 6);
    }
}
