using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;

namespace RingAttention.Cli.Bench;

/// <summary>
/// Device check (after a kernel or ILGPU change): every case of DIR/cases.txt (name dtype mask window per line) on
/// DIR/NAME.in.safetensors runs through the device-resident entry in overwrite mode into NaN-poisoned O/LSE (so an
/// unwritten element shows as NaN), and through the host Accumulate path as 4 zigzag ring steps, which must agree
/// with the single launch. Writes DIR/NAME.out.safetensors (o f32 [T,Hq,D], lse f32 [Hq,T]) for
/// bench/device_verify.py to compare with PyTorch SDPA and float64.
/// </summary>
public static class DeviceCheck
{
    /// <returns>The number of failed cases.</returns>
    public static int Run(CudaAttentionBackend backend, string dir, TextWriter log)
    {
        foreach (var variant in FlashVariants.All)
        {
            try
            {
                var (regs, local, patched, ptx) = backend.Flash.Inspect(variant);
                log.WriteLine($"kernel {variant.Name}: {variant.Threads} threads, {regs} registers, {local} B local, {variant.SharedBytes} B shared, depots patched: {patched}");
                File.WriteAllText(Path.Combine(dir, $"{variant.Name}.ptx"), ptx);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                log.WriteLine($"kernel {variant.Name}: load failed: {ex.GetBaseException().Message}");
            }
        }

        int failures = 0;
        foreach (var line in File.ReadAllLines(Path.Combine(dir, "cases.txt")).Where(l => l.Trim().Length > 0))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string name = f[0];
            bool causal = f[2].Contains("causal", StringComparison.Ordinal);
            int window = int.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture);
            byte[] qBytes, kBytes, vBytes;
            AttentionSpec spec;
            using (var inputs = SafetensorsFile.Open(Path.Combine(dir, name + ".in.safetensors")))
            {
                var q = inputs.GetTensor(TensorNames.Query);
                var k = inputs.GetTensor(TensorNames.Key);
                spec = new AttentionSpec((int)q.Shape[0], (int)q.Shape[1], (int)k.Shape[1], (int)q.Shape[2], q.Type,
                    new AttentionMask(causal, window > 0 ? window : null)).Validate();
                byte[] Whole(string tensor)
                {
                    var bytes = new byte[inputs.GetTensor(tensor).ByteLength];
                    inputs.ReadElements(tensor, 0, bytes);
                    return bytes;
                }

                (qBytes, kBytes, vBytes) = (Whole(TensorNames.Query), Whole(TensorNames.Key), Whole(TensorNames.Value));
            }

            int tokens = spec.Tokens, hq = spec.Heads, hkv = spec.KvHeads, dim = spec.HeadDim;
            var type = spec.DType;
            long oCount = (long)tokens * hq * dim, lseCount = (long)hq * tokens;
            TokenSpan[] all = [new(0, tokens)];
            var o = new float[oCount];
            var lse = new float[lseCount];
            double ms;
            // NaN everywhere first: a row the kernel fails to write shows up.
            var poison = new PartialResult(tokens, hq, dim);
            Array.Fill(poison.Output, float.NaN);
            Array.Fill(poison.Lse, float.NaN);
            using (var qDevice = backend.UploadRows(new TensorRows(type, hq, dim, all, qBytes)))
            using (var kvDevice = backend.UploadKeyValues(new KeyValueBlock(new TensorRows(type, hkv, dim, all, kBytes), new TensorRows(type, hkv, dim, all, vBytes))))
            using (var oDevice = backend.UploadAccumulator(poison))
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                backend.Launch(spec, qDevice, kvDevice, oDevice, merge: false);
                backend.Accelerator.Synchronize();
                ms = sw.Elapsed.TotalMilliseconds;
                backend.DownloadOutputRows(oDevice, 0, o);
                backend.DownloadLse(oDevice, lse);
            }

            long nanO = o.LongCount(float.IsNaN), nanL = lse.LongCount(float.IsNaN);

            // Ring path: shard 1 of 4 zigzag shards (chunks 1 and 6 of 8) against all 4 kv shards, merged on the device.
            double ringDiff = RingDiff(backend, spec, qBytes, kBytes, vBytes, o, lse, out double ringLse);
            bool fast = backend.Flash.Supports(type, dim);
            string path = fast ? backend.Flash.Variant : "portable";
            log.WriteLine($"case {name} {type} T={tokens} hq={hq} hkv={hkv} d={dim} mask={spec.Mask} path={path} ms={ms:F1} nan_o={nanO} nan_lse={nanL} ring_max_abs={ringDiff:E2} ring_lse={ringLse:E2}");
            // bf16/f16 P is rounded against a different running max when keys arrive in ring order: allow that rounding.
            double ringTol = type == ElementType.BF16 ? 2e-2 : type == ElementType.F16 ? 3e-3 : 1e-4;
            if (nanO != 0 || nanL != 0 || ringDiff > ringTol || ringLse > 1e-3)
            {
                failures++;
            }

            SafetensorsFile.Write(Path.Combine(dir, name + ".out.safetensors"),
            [
                (TensorNames.Output, ElementType.F32, [tokens, hq, dim], System.Runtime.InteropServices.MemoryMarshal.AsBytes(o.AsSpan()).ToArray()),
                (TensorNames.LogSumExp, ElementType.F32, [hq, tokens], System.Runtime.InteropServices.MemoryMarshal.AsBytes(lse.AsSpan()).ToArray()),
            ]);
        }

        log.WriteLine($"verify: {failures} case(s) with NaN or ring mismatch");
        return failures;
    }

    private static double RingDiff(CudaAttentionBackend backend, AttentionSpec spec, byte[] q, byte[] k, byte[] v, float[] o, float[] lse, out double lseDiff)
    {
        int tokens = spec.Tokens;
        lseDiff = 0;
        if (tokens < 8)
        {
            return 0;
        }

        // 8 chunks covering every token (boundaries i·T/8); shard r holds chunks r and 7 - r.
        TokenSpan Chunk(int i) => new(i * tokens / 8, ((i + 1) * tokens / 8) - (i * tokens / 8));
        TokenSpan[] Shard(int r) => [Chunk(r), Chunk(7 - r)];
        TensorRows Rows(byte[] data, int heads, TokenSpan[] spans)
        {
            int rowBytes = heads * spec.HeadDim * spec.DType.Size();
            var buf = new byte[spans.Sum(s => s.Count) * rowBytes];
            int at = 0;
            foreach (var s in spans)
            {
                Array.Copy(data, (long)s.Start * rowBytes, buf, at, (long)s.Count * rowBytes);
                at += s.Count * rowBytes;
            }

            return new TensorRows(spec.DType, heads, spec.HeadDim, spans, buf);
        }

        var qs = Shard(1);
        var qRows = Rows(q, spec.Heads, qs);
        var acc = new PartialResult(qRows.Rows, spec.Heads, spec.HeadDim);
        foreach (int r in new[] { 2, 0, 3, 1 })
        {
            var kv = new KeyValueBlock(Rows(k, spec.KvHeads, Shard(r)), Rows(v, spec.KvHeads, Shard(r)));
            backend.Accumulate(spec, qRows, kv, acc);
        }

        double maxDiff = 0;
        int row = 0;
        foreach (var s in qs)
        {
            for (int i = 0; i < s.Count; i++, row++)
            {
                int t = s.Start + i;
                for (int h = 0; h < spec.Heads; h++)
                {
                    for (int d = 0; d < spec.HeadDim; d++)
                    {
                        maxDiff = Math.Max(maxDiff, Math.Abs(acc.Output[(((long)row * spec.Heads) + h) * spec.HeadDim + d] - o[(((long)t * spec.Heads) + h) * spec.HeadDim + d]));
                    }

                    float a = acc.Lse[((long)h * acc.Rows) + row], b = lse[((long)h * tokens) + t];
                    lseDiff = Math.Max(lseDiff, float.IsNegativeInfinity(a) && float.IsNegativeInfinity(b) ? 0 : Math.Abs(a - b));
                }
            }
        }

        return maxDiff;
    }
}
