using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// FP8 (E4M3) inputs with per-tensor and per-kv-head descale factors, on the device-resident ring (the portable kernel
/// on ILGPU's CPU accelerator): q dequantised to bfloat16 on load, K/V kept as FP8 codes on the ring (half the bytes)
/// and dequantised for each step with the same arithmetic, so the job's output is bitwise the output of the same inputs
/// dequantised beforehand, and matches float64 attention of the values the FP8 file stands for.
/// </summary>
public sealed class Fp8InputTests(ResidentClusterFixture fixture) : IClassFixture<ResidentClusterFixture>
{
    [Theory]
    [InlineData(3, 131, 64)]
    [InlineData(1, 40, 96)]
    public Task Run_Fp8WithDescales_EqualsItsBf16Dequantisation_AndMatchesFloat64(int shards, int tokens, int headDim) =>
        Fp8Check.RunAsync(fixture.Cluster, fixture.PathFor, shards, tokens, headDim);
}

/// <summary>The same on the CPU backend (shards read their rows straight into host memory).</summary>
[Collection(ClusterCollection.Name)]
public sealed class Fp8CpuInputTests(ClusterFixture fixture)
{
    [Fact]
    public Task Run_Fp8OnCpuShards_EqualsItsBf16Dequantisation_AndMatchesFloat64() =>
        Fp8Check.RunAsync(fixture.Cluster, fixture.PathFor, shards: 4, tokens: 97, headDim: 32);
}

internal static class Fp8Check
{
    public static async Task RunAsync(RingAttention.Silo.EmbeddedCluster cluster, Func<string, string> pathFor, int shards, int tokens, int headDim)
    {
        string fp8 = pathFor($"fp8-{shards}-{tokens}.safetensors"), bf16 = pathFor($"fp8-as-bf16-{shards}-{tokens}.safetensors");
        TestInputs.WriteFp8(fp8, bf16, tokens, heads: 4, kvHeads: 2, headDim, seed: shards);

        var outputs = new List<string>();
        var moved = new List<(long Bytes, long Copies)>();
        foreach (string input in new[] { fp8, bf16 })
        {
            string output = pathFor($"{Path.GetFileNameWithoutExtension(input)}-out.safetensors");
            var job = await cluster.Client.SubmitAsync(new JobSpec { InputPath = input, OutputPath = output, Causal = true, Shards = shards });
            var status = await job.WaitAsync();
            Assert.True(status.State == JobState.Completed, status.Error);
            outputs.Add(output);
            var t = status.Totals;
            moved.Add((t.BytesMoved + t.PeerBytes + t.ProcessBytes, t.RemoteTransfers + t.PeerCopies + t.ProcessCopies));
        }

        // Blocks that were copied (across silos or devices) carried FP8 codes: half the bytes of the bf16 job's a block
        // (the blocks that crossed may differ between the two jobs' placements by a token or two).
        if (moved[0].Copies > 0 && moved[1].Copies > 0)
        {
            double ratio = (moved[0].Bytes / (double)moved[0].Copies) / (moved[1].Bytes / (double)moved[1].Copies);
            Assert.InRange(ratio, 0.45, 0.55);
        }

        using (var written = SafetensorsFile.Open(outputs[0], "output"))
        {
            Assert.Equal(ElementType.BF16, written.GetTensor("o").Type);
        }

        var (o8, lse8) = TestInputs.ReadOutput(outputs[0]);
        var (o16, lse16) = TestInputs.ReadOutput(outputs[1]);
        Assert.Equal(o16, o8);
        Assert.Equal(lse16, lse8);
        var report = OutputVerifier.Verify(fp8, outputs[0], new(true, null), null, rows: tokens);
        Assert.True(report.Passed, report.Failure);
    }
}
