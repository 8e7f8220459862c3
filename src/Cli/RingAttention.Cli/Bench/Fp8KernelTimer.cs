using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;

namespace RingAttention.Cli.Bench;

/// <summary>
/// FP8 (e4m3) attention on the Hopper kernel, timed as <see cref="KernelTimer"/> times the others: q, k, v made on the
/// host as e4m3 codes of N(0, 1) values with descale factors (q: one; k and v: one per kv head, different per head), V
/// transposed once (<see cref="Fp8Values"/>, outside the timed region: one pass over V, which a ring step would add), the
/// error against float64 attention of the values the codes stand for. Beside it, in the same run, our bfloat16 kernel
/// on the same values dequantised to bfloat16: its time and its error against the same float64 reference.
/// </summary>
internal static class Fp8KernelTimer
{
    /// <summary>Codes are N(0, 1) values times this (±4σ reaches e4m3's 448).</summary>
    private const float CodeScale = 112f;

    public static KernelTiming Time(CudaAttentionBackend backend, AttentionSpec spec, int reps)
    {
        int t = spec.Tokens, hq = spec.Heads, hkv = spec.KvHeads, d = spec.HeadDim;
        var acc = backend.Accelerator;
        var rng = new Random(t + (31 * d) + hq);
        var table = new byte[65536];
        for (int i = 0; i < table.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            table[i] = ElementConvert.SingleToFp8E4M3((float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2) * CodeScale));
        }

        byte[] q8 = Codes(table, (long)t * hq * d, 1), k8 = Codes(table, (long)t * hkv * d, 2), v8 = Codes(table, (long)t * hkv * d, 3);
        float qFactor = 1f / CodeScale;
        float[] kFactor = [.. Enumerable.Range(0, hkv).Select(h => (1f + (0.25f * h)) / CodeScale)];
        float[] vFactor = [.. Enumerable.Range(0, hkv).Select(h => (1f + (0.5f * (h % 3))) / CodeScale)];
        float[] qk = [.. Enumerable.Range(0, hq).Select(h => qFactor * kFactor[h / spec.GroupSize])];
        long padded = Fp8Values.PaddedKeys(t);
        var vt = new byte[(long)hkv * d * padded];
        Fp8Values.Transpose(v8, hkv, d, vt);

        using var bq = acc.Allocate1D(q8);
        using var bk = acc.Allocate1D(k8);
        using var bvt = acc.Allocate1D(vt);
        using var bqk = acc.Allocate1D(qk);
        using var bvd = acc.Allocate1D(vFactor);
        using var o = backend.CreateAccumulator(t, hq, d);
        var fp8 = new Fp8Operands(Address(bvt), padded, Address(bqk), Address(bvd));
        var times = KernelTimer.Repeat(acc, reps, () => backend.LaunchFp8(spec, Address(bq), Address(bk), fp8, o, merge: false));
        double ms = times[times.Count / 2];
        Func<long, double> qAt = i => ElementConvert.Fp8E4M3ToSingle(q8[i]) * (double)qFactor;
        Func<long, double> kAt = i => ElementConvert.Fp8E4M3ToSingle(k8[i]) * (double)kFactor[i / d % hkv];
        Func<long, double> vAt = i => ElementConvert.Fp8E4M3ToSingle(v8[i]) * (double)vFactor[i / d % hkv];
        double error = KernelTimer.SampledError(spec, qAt, kAt, vAt, Download(backend, o, spec), t);
        string kernel = $"{WarpSpecializedKernel.Find(ElementType.F8E4M3, d)?.Entry}";

        // The bfloat16 kernel on the same values.
        TokenSpan[] all = [new(0, t)];
        using var q16 = backend.AllocateRows(ElementType.BF16, hq, d, all);
        using var kv16 = backend.AllocateKeyValues(ElementType.BF16, hkv, d, all);
        backend.CopyToDevice(q16, 0, Bf16(q8.Length, qAt));
        backend.CopyToDevice(kv16, 0, Bf16(k8.Length, kAt));
        backend.CopyToDevice(kv16, kv16.KeyBytes, Bf16(v8.Length, vAt));
        using var o16 = backend.CreateAccumulator(t, hq, d);
        var times16 = KernelTimer.Repeat(acc, reps, () => backend.Launch(spec, q16, kv16, o16, merge: false));
        double error16 = KernelTimer.SampledError(spec, qAt, kAt, vAt, Download(backend, o16, spec), t);

        return new KernelTiming("fp8", t, hq, hkv, d, spec.Mask.Causal, kernel, Math.Round(ms, 3), Math.Round(times[0], 3), KernelTimer.Tflops(spec, ms),
            Math.Round(error, 6), Math.Round(error16, 6), Math.Round(times16[times16.Count / 2], 3));
    }

    private static ulong Address<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer)
        where T : unmanaged => (ulong)buffer.NativePtr.ToInt64();

    /// <summary>Codes from <paramref name="table"/> at hash-random positions (a host RNG call per element would take seconds at 32K tokens).</summary>
    private static byte[] Codes(byte[] table, long count, uint seed)
    {
        var codes = new byte[count];
        uint x = 0x9E3779B9u * seed;
        for (long i = 0; i < count; i++)
        {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            codes[i] = table[x & 0xFFFF];
        }

        return codes;
    }

    private static byte[] Bf16(long count, Func<long, double> at)
    {
        var bytes = new byte[2 * count];
        var words = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
        for (long i = 0; i < count; i++)
        {
            words[(int)i] = ElementConvert.SingleToBFloat16((float)at(i));
        }

        return bytes;
    }

    private static float[] Download(CudaAttentionBackend backend, DeviceAccumulator o, AttentionSpec spec)
    {
        var rows = new float[(long)spec.Tokens * spec.Heads * spec.HeadDim];
        backend.DownloadOutputRows(o, 0, rows);
        return rows;
    }
}
