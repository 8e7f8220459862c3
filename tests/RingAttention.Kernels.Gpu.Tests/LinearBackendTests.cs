using System.Globalization;
using ILGPU.Runtime.CPU;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Kernels.Linear;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// Linear attention through the backend interface a shard uses, on the CPU backend and on the ILGPU kernels (ILGPU's
/// CPU accelerator, with its own small blocks and with NVIDIA-shaped 32-lane warps): a sequence cut into shards of two
/// spans each (zigzag), each span's own state from <see cref="IAttentionBackend.LinearSpanStates"/>, folded in sequence
/// order as the exchange folds them, then <see cref="IAttentionBackend.LinearOutput"/>; against the float64 recurrence.
/// Pieces of two chunks on the ILGPU backend, so spans longer than 128 tokens carry their state from piece to piece.
/// </summary>
public sealed class LinearBackendTests
{
    /// <summary>backend, then "tokens shards mask featureMap decay(- | γ | γ,γ,..) normalize(norm | raw) heads kvHeads dim dtype".</summary>
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var backend in new[] { "cpu", "ilgpu", "ilgpu-warp32" })
        {
            data.Add(backend, "1 1 causal elu1 - norm 2 1 16 f32");
            data.Add(backend, "7 2 causal elu1 0.9 norm 4 2 24 bf16");
            data.Add(backend, "300 3 causal elu1 0.95,0.99,0.999,1 norm 4 2 32 bf16");
            data.Add(backend, "301 2 none elu1 - norm 4 1 40 f16");
            data.Add(backend, "517 4 causal relu 0.999 raw 2 2 64 f32");
            data.Add(backend, "200 1 causal identity - raw 6 2 20 f16");
        }

        data.Add("ilgpu-warp32", "400 2 causal elu1 0.99 norm 4 1 128 bf16");

        // The tensor-core kernels (f16 and bf16), their mma through warp shuffles: head dims below, at and between the
        // 64-column halves of a state, rows past a block, every map and mask.
        data.Add("ilgpu-tf32", "7 1 causal elu1 0.9 norm 2 1 24 bf16");
        data.Add("ilgpu-tf32", "70 1 causal elu1 0.99 norm 1 1 72 f16");
        // Above the kernels' 128: the ILGPU backend computes it on the host.
        data.Add("ilgpu", "150 2 causal elu1 - norm 2 1 136 bf16");
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SpanStatesFoldedThenOutput_MatchFloat64(string backendName, string shape)
    {
        string[] f = shape.Split(' ');
        int tokens = int.Parse(f[0], CultureInfo.InvariantCulture), shards = int.Parse(f[1], CultureInfo.InvariantCulture);
        string mask = f[2], map = f[3];
        float[]? decay = f[4] == "-" ? null : [.. f[4].Split(',').Select(x => float.Parse(x, CultureInfo.InvariantCulture))];
        bool normalize = f[5] == "norm";
        int heads = int.Parse(f[6], CultureInfo.InvariantCulture), kvHeads = int.Parse(f[7], CultureInfo.InvariantCulture), dim = int.Parse(f[8], CultureInfo.InvariantCulture);
        string dtype = f[9];
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        var spec = new LinearAttentionSpec(tokens, heads, kvHeads, dim, type, mask == "causal", LinearFeatureMaps.Parse(map), decay, normalize).Validate();
        using IAttentionBackend backend = backendName switch
        {
            "cpu" => new CpuAttentionBackend(),
            "ilgpu" => PortableAttentionBackend.CreateCpu(),
            _ => PortableAttentionBackend.CreateCpuSet(1, CPUDeviceKind.Nvidia)[0],
        };
        if (backend is IlgpuAttentionBackend ilgpu)
        {
            ilgpu.LinearPieceChunks = 2;
            ilgpu.LinearWarpMma = backendName == "ilgpu-tf32";
        }

        // A seed that is the same in every process (HashCode.Combine is randomised per process): a failure reproduces.
        var rng = new Random((backendName + shape).Aggregate(17, (h, c) => unchecked((h * 31) + c)));
        byte[] q = Random(rng, tokens * heads * dim, type), k = Random(rng, tokens * kvHeads * dim, type), v = Random(rng, tokens * kvHeads * dim, type);
        // Zigzag: 2R runs, shard r holding runs r and 2R - 1 - r (some empty when tokens < 2R).
        int runs = 2 * shards;
        var run = Enumerable.Range(0, runs).Select(j => new TokenSpan(tokens * j / runs, (tokens * (j + 1) / runs) - (tokens * j / runs))).ToArray();
        var shardSpans = Enumerable.Range(0, shards).Select(r => new[] { run[r], run[runs - 1 - r] }).ToArray();

        var handles = shardSpans.Select(spans => (
            Q: backend.UploadRows(Rows(q, heads, dim, type, spans)),
            KV: backend.UploadKeyValues(new KeyValueBlock(Rows(k, kvHeads, dim, type, spans), Rows(v, kvHeads, dim, type, spans))))).ToArray();
        try
        {
            var own = new Dictionary<int, LinearState>();
            for (int r = 0; r < shards; r++)
            {
                var states = backend.LinearSpanStates(spec, handles[r].KV);
                Assert.Equal(2, states.Count);
                own[r] = states[0];
                own[runs - 1 - r] = states[1];
                Assert.Equal(run[r].Count, states[0].Tokens);
            }

            var total = LinearState.Empty(spec);
            var before = new LinearState[runs];
            for (int j = 0; j < runs; j++)
            {
                before[j] = total.Clone();
                total.Append(spec, own[j]);
            }

            var output = new float[tokens * heads * dim];
            for (int r = 0; r < shards; r++)
            {
                int[] order = [r, runs - 1 - r];
                using var acc = backend.CreateAccumulator(handles[r].Q.Rows, heads, dim);
                backend.LinearOutput(spec, handles[r].Q, handles[r].KV, [.. order.Select(j => spec.Causal ? before[j] : total)], acc);
                var rows = new float[handles[r].Q.Rows * heads * dim];
                backend.DownloadOutputRows(acc, 0, rows);
                int at = 0;
                foreach (int j in order)
                {
                    rows.AsSpan(at, run[j].Count * heads * dim).CopyTo(output.AsSpan(run[j].Start * heads * dim));
                    at += run[j].Count * heads * dim;
                }
            }

            var expected = ReferenceLinearAttention.Compute(spec, q, k, v);
            double magnitude = expected.Max(Math.Abs);
            // float32 throughout: 2e-4 of the largest output; TF32 operands (each rounded once, 2^-11 = 4.9e-4): 1e-3.
            double bound = backendName == "ilgpu-tf32" ? 1e-3 : 2e-4;
            for (int i = 0; i < expected.Length; i++)
            {
                double error = Math.Abs(output[i] - expected[i]);
                Assert.True(error <= bound * magnitude,
                    $"{backendName}: o[token {i / (heads * dim)}, head {i / dim % heads}, {i % dim}] = {output[i]} but float64 gives {expected[i]} (|diff| {error:G3} > {bound:G1} x {magnitude:G3})");
            }
        }
        finally
        {
            foreach (var (qh, kvh) in handles)
            {
                qh.Dispose();
                kvh.Dispose();
            }
        }
    }

    private static TensorRows Rows(byte[] all, int heads, int dim, ElementType type, TokenSpan[] spans)
    {
        int rowBytes = heads * dim * type.Size();
        var bytes = new byte[spans.Sum(s => s.Count) * rowBytes];
        int at = 0;
        foreach (var span in spans)
        {
            all.AsSpan(span.Start * rowBytes, span.Count * rowBytes).CopyTo(bytes.AsSpan(at));
            at += span.Count * rowBytes;
        }

        return new TensorRows(type, heads, dim, spans, bytes);
    }

    private static byte[] Random(Random rng, int count, ElementType type)
    {
        float[] values = [.. Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() * 2) - 1))];
        var bytes = new byte[count * type.Size()];
        ElementConvert.FromSingle(values, type, bytes);
        return bytes;
    }
}
