using System.Diagnostics;
using System.Runtime.InteropServices;
using ILGPU;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;

namespace RingAttention.Cli.Bench;

/// <summary>One shape's kernel timing. TFLOP/s = 4·T²·Hq·D / t, halved for causal (FlashAttention's convention); with
/// <paramref name="QueryRows"/>, the last rows of the context against all its keys: 4·(visible pairs)·Hq·D / t.</summary>
/// <param name="MaxRelErr">‖o − o64‖ / ‖o64‖ over sampled rows against a float64 reference on the host.</param>
/// <param name="Bf16MaxRelErr">FP8 rows: the same error of our bfloat16 kernel on the same (dequantised) inputs.</param>
/// <param name="Bf16Ms">FP8 rows: that bfloat16 kernel's median time.</param>
public sealed record KernelTiming(
    string Dtype, int Tokens, int Hq, int Hkv, int Dim, bool Causal, string Kernel, double MedianMs, double MinMs, double Tflops, double MaxRelErr,
    double? Bf16MaxRelErr = null, double? Bf16Ms = null, int? QueryRows = null);

/// <summary>
/// Device-resident kernel timing: q/k/v filled on the GPU in the backend's own handles, one launch per repetition between synchronisations,
/// median of the repetitions after two warm-up launches; no host transfer in the timed region.
/// </summary>
public static class KernelTimer
{
    /// <param name="queryRows">0: every token's query (self-attention); n: the last n positions' queries against every
    /// key (a follow-up chunk, causal bottom-right).</param>
    public static KernelTiming Time(CudaAttentionBackend backend, AttentionSpec spec, int reps, int queryRows = 0)
    {
        int t = spec.Tokens;
        int n = queryRows > 0 ? queryRows : t;
        TokenSpan[] all = [new(0, t)];
        using var q = backend.AllocateRows(spec.DType, spec.Heads, spec.HeadDim, [new TokenSpan(t - n, n)]);
        using var kv = backend.AllocateKeyValues(spec.DType, spec.KvHeads, spec.HeadDim, all);
        using var o = backend.CreateAccumulator(n, spec.Heads, spec.HeadDim);
        var acc = backend.Accelerator;
        bool bf16 = spec.DType == ElementType.BF16;
        var kvView = backend.DataView(kv).Cast<ushort>();
        DeviceFill.Fill(acc, backend.DataView(q).Cast<ushort>(), 1u, bf16);
        DeviceFill.Fill(acc, kvView.SubView(0, kvView.Length / 2), 2u, bf16);
        DeviceFill.Fill(acc, kvView.SubView(kvView.Length / 2, kvView.Length / 2), 3u, bf16);
        var times = Repeat(acc, reps, () => backend.Launch(spec, q, kv, o, merge: false));
        double ms = times[times.Count / 2];
        // Short query blocks: visible (query, key) pairs over time, to 4 decimals (their times are tenths of a millisecond).
        double pairs = spec.Mask.Causal ? ((double)n * t) - ((double)n * (n - 1) / 2) : (double)n * t;
        double tflops = queryRows > 0 ? Math.Round(4.0 * pairs * spec.Heads * spec.HeadDim / ms / 1e9, 1) : Tflops(spec, ms);
        int digits = queryRows > 0 ? 4 : 3;
        return new KernelTiming(bf16 ? "bf16" : "fp16", t, spec.Heads, spec.KvHeads, spec.HeadDim, spec.Mask.Causal, KernelName(backend, spec),
            Math.Round(ms, digits), Math.Round(times[0], digits), tflops, SampledError(backend, spec, q, kv, o, n), QueryRows: queryRows > 0 ? n : null);
    }

    /// <summary>TFLOP/s of attention over <paramref name="spec"/> in <paramref name="ms"/> (4·T²·Hq·D, halved for causal).</summary>
    internal static double Tflops(AttentionSpec spec, double ms) =>
        Math.Round(4.0 * spec.Tokens * spec.Tokens * spec.Heads * spec.HeadDim * (spec.Mask.Causal ? 0.5 : 1.0) / ms / 1e9, 1);

    /// <summary>Two warm-up launches, then <paramref name="reps"/> timed ones each between synchronisations; sorted milliseconds.</summary>
    internal static List<double> Repeat(ILGPU.Runtime.Accelerator acc, int reps, Action launch)
    {
        for (int i = 0; i < 2; i++)
        {
            launch();
        }

        acc.Synchronize();
        var times = new List<double>();
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            launch();
            acc.Synchronize();
            times.Add(sw.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return times;
    }

    /// <summary>The kernel that ran and the launch setting: "WgmmaBf16Dx96Wg2 (wgmma-wg2-b4)", or "portable".</summary>
    private static string KernelName(CudaAttentionBackend backend, AttentionSpec spec) =>
        backend.UseTensorCores && backend.Flash.Supports(spec.DType, spec.HeadDim)
            ? backend.Flash.KernelName(spec.DType, spec.HeadDim)
            : "portable";

    /// <summary>Worst relative L2 error of sampled rows (8 rows spread from first to last; heads 0, 1 and last) against float64.</summary>
    private static double SampledError(CudaAttentionBackend backend, AttentionSpec spec, DeviceRows qHandle, DeviceKeyValues kvHandle, DeviceAccumulator oHandle, int queryRows)
    {
        int t = spec.Tokens, hq = spec.Heads, hkv = spec.KvHeads, d = spec.HeadDim;
        var q = new ushort[(long)queryRows * hq * d];
        var k = new ushort[(long)t * hkv * d];
        var v = new ushort[(long)t * hkv * d];
        var o = new float[(long)queryRows * hq * d];
        CopyWords(backend, qHandle, 0, q);
        CopyWords(backend, kvHandle, 0, k);
        CopyWords(backend, kvHandle, kvHandle.KeyBytes, v);
        backend.DownloadOutputRows(oHandle, 0, o);
        Func<ushort, double> cv = spec.DType == ElementType.BF16 ? b => ElementConvert.BFloat16ToSingle(b) : b => ElementConvert.HalfToSingle(b);
        return SampledError(spec, i => cv(q[i]), i => cv(k[i]), i => cv(v[i]), o, queryRows);
    }

    /// <summary>16-bit elements of a handle from <paramref name="byteOffset"/>, in pieces: a byte span stays under 2 GiB (1M
    /// keys of 8 kv heads x 128 are 2 GiB of K).</summary>
    private static void CopyWords(CudaAttentionBackend backend, DeviceHandle handle, long byteOffset, ushort[] words)
    {
        const int Piece = 1 << 28;
        for (int at = 0; at < words.Length; at += Piece)
        {
            int n = Math.Min(Piece, words.Length - at);
            backend.CopyFromDevice(handle, byteOffset + (2L * at), MemoryMarshal.AsBytes(words.AsSpan(at, n)));
        }
    }

    /// <summary>
    /// Worst relative L2 error of <paramref name="o"/> over sampled rows (8 spread from first to last; heads 0, 1 and
    /// last: the first two share a tile when GQA heads pack) against float64 attention of the values the element
    /// functions give (q and o by index into <c>[queryRows, heads, D]</c>, the last query rows of the context; k and v
    /// into <c>[T, kvHeads, D]</c>).
    /// </summary>
    internal static double SampledError(AttentionSpec spec, Func<long, double> qAt, Func<long, double> kAt, Func<long, double> vAt, float[] o, int queryRows)
    {
        int t = spec.Tokens, hq = spec.Heads, hkv = spec.KvHeads, d = spec.HeadDim;
        double worst = 0;
        var rows = Enumerable.Range(0, 8).Select(i => (int)((long)i * (queryRows - 1) / 7)).Distinct();
        foreach (int h in new[] { 0, Math.Min(1, hq - 1), hq - 1 }.Distinct())
        {
            int kvh = h / spec.GroupSize;
            foreach (int r in rows)
            {
                int kEnd = spec.Mask.Causal ? t - queryRows + r + 1 : t;
                var s = new double[kEnd];
                double max = double.NegativeInfinity;
                for (int j = 0; j < kEnd; j++)
                {
                    double dot = 0;
                    for (int c = 0; c < d; c++)
                    {
                        dot += qAt((((long)r * hq) + h) * d + c) * kAt((((long)j * hkv) + kvh) * d + c);
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
                        refRow[c] += p * vAt((((long)j * hkv) + kvh) * d + c);
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
