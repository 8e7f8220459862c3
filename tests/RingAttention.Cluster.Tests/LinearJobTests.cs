using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Linear-attention jobs (issue 16) on real silos: shards compute their spans' states, exchange them (one gather round
/// or the LASP chain), then o; the output file holds o alone and says it is linear attention; o matches the float64
/// recurrence over the whole sequence, for R = 1..8 over 3 silos, both exchanges, both layouts, decay values or tensor.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class LinearJobTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData(1, 1, "causal", "gather", "zigzag", "0.9", true, ElementType.F32, 4, 2)]
    [InlineData(7, 3, "causal", "ring", "zigzag", null, true, ElementType.BF16, 4, 1)]
    [InlineData(1000, 8, "causal", "gather", "zigzag", "tensor", false, ElementType.BF16, 4, 2)]
    [InlineData(1000, 8, "causal", "ring", "zigzag", "tensor", false, ElementType.BF16, 4, 2)]
    [InlineData(301, 5, "none", "ring", "contiguous", null, true, ElementType.F16, 2, 2)]
    [InlineData(301, 4, "none", "gather", "zigzag", null, true, ElementType.F32, 6, 2)]
    [InlineData(517, 2, "causal", "ring", "contiguous", "0.99", true, ElementType.F16, 4, 4)]
    public Task Run_Linear_MatchesFloat64(int tokens, int shards, string mask, string exchange, string layout, string? decay, bool normalize, ElementType type, int heads, int kvHeads) =>
        LinearJobCheck.RunAsync(fixture.Cluster, fixture.PathFor, tokens, shards, mask, exchange, layout, decay, normalize, type, heads, kvHeads);

    /// <summary>The float64 check of <c>ringattn verify</c> passes the job's output and fails it once one value is changed.</summary>
    [Fact]
    public async Task Verify_LinearOutput_PassesAndCatchesOneChangedValue()
    {
        await LinearJobCheck.RunAsync(fixture.Cluster, fixture.PathFor, 700, 3, "causal", "gather", "contiguous", "0.95", true, ElementType.F32, 4, 2);
        string input = fixture.PathFor("linear-700-3-causal-gather-contiguous-0.95-F32.safetensors");
        string output = fixture.PathFor("linear-o-700-3-causal-gather-contiguous-0.95-F32.safetensors");
        var passed = Client.Verification.LinearOutputVerifier.Verify(input, output, rows: 700);
        Assert.True(passed.Passed, passed.Failure);
        Assert.Equal(700, passed.RowsChecked);

        string changed = fixture.PathFor("linear-o-changed.safetensors");
        using (var file = SafetensorsFile.Open(output, "output"))
        {
            var o = file.GetTensor("o");
            byte[] raw = new byte[o.ByteLength];
            file.ReadElements("o", 0, raw);
            var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw.AsSpan());
            values[(500 * 4 * 32) + 33] += 0.01f; // token 500, head 1, dim 1
            SafetensorsFile.Write(changed, [("o", ElementType.F32, o.Shape, raw)], file.Header.Metadata);
        }

        var failed = Client.Verification.LinearOutputVerifier.Verify(input, changed, rows: 700);
        Assert.False(failed.Passed);
        Assert.StartsWith("token 500, head 1, dim 1:", failed.Failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("scale", "the softmax scale does not apply to linear attention")]
    [InlineData("window", "windows do not apply to linear attention")]
    [InlineData("decay", "decay[0] = 1.5 is outside (0, 1]")]
    [InlineData("inputs.decay", "'decay' is F32 [3]; it must be F32 [4]")]
    [InlineData("normalize", "the relu feature map can make zero or negative")]
    public async Task Submit_BadLinearJob_RefusedNamingTheField(string field, string expected)
    {
        string input = fixture.PathFor($"linear-bad-{field}.safetensors");
        LinearJobCheck.WriteInputs(input, 64, 4, 2, 16, ElementType.F32, field == "inputs.decay" ? 3 : 4);
        var spec = new JobSpec
        {
            InputPath = input,
            OutputPath = fixture.PathFor($"linear-bad-{field}-out.safetensors"),
            Causal = true,
            Attention = AttentionKind.Linear,
            Scale = field == "scale" ? 0.5f : null,
            Window = field == "window" ? 8 : null,
            Decay = field == "decay" ? [1.5f] : null,
            DecayFromInput = field == "inputs.decay",
            FeatureMap = field == "normalize" ? LinearFeatureMap.Relu : LinearFeatureMap.Elu1,
        };
        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(spec));
        Assert.Equal(field, error.Field);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(spec.OutputPath));
    }
}

/// <summary>The same jobs on the device-resident path (the linear kernels on ILGPU's CPU accelerator).</summary>
public sealed class ResidentLinearJobTests(ResidentClusterFixture fixture) : IClassFixture<ResidentClusterFixture>
{
    [Theory]
    [InlineData(1000, 3, "causal", "gather", "zigzag", "tensor", false, ElementType.BF16, 4, 2)]
    [InlineData(200, 2, "none", "ring", "zigzag", null, true, ElementType.F16, 4, 1)]
    public Task Run_Linear_MatchesFloat64(int tokens, int shards, string mask, string exchange, string layout, string? decay, bool normalize, ElementType type, int heads, int kvHeads) =>
        LinearJobCheck.RunAsync(fixture.Cluster, fixture.PathFor, tokens, shards, mask, exchange, layout, decay, normalize, type, heads, kvHeads);
}

internal static class LinearJobCheck
{
    public static async Task RunAsync(RingAttention.Silo.EmbeddedCluster cluster, Func<string, string> pathFor, int tokens, int shards, string mask,
        string exchange, string layout, string? decay, bool normalize, ElementType type, int heads, int kvHeads)
    {
        const int dim = 32;
        string name = $"{tokens}-{shards}-{mask}-{exchange}-{layout}-{decay}-{type}";
        string input = pathFor($"linear-{name}.safetensors"), output = pathFor($"linear-o-{name}.safetensors");
        float[] gammas = WriteInputs(input, tokens, heads, kvHeads, dim, type, heads);
        var job = await cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = input,
            OutputPath = output,
            Causal = mask == "causal",
            Shards = shards,
            Layout = layout == "zigzag" ? ShardLayout.Zigzag : ShardLayout.Contiguous,
            Attention = AttentionKind.Linear,
            Exchange = exchange == "ring" ? LinearExchange.Ring : LinearExchange.Gather,
            Decay = decay is null or "tensor" ? null : [float.Parse(decay, System.Globalization.CultureInfo.InvariantCulture)],
            DecayFromInput = decay == "tensor",
            Normalize = normalize,
        });
        var status = await job.WaitAsync();
        Assert.True(status.State == JobState.Completed, status.Error);
        using var written = SafetensorsFile.Open(output, "output");
        Assert.Equal([tokens, heads, dim], written.GetTensor("o").Shape);
        Assert.False(written.Header.Contains("lse"), "a linear-attention output has no lse");
        Assert.Equal("linear", written.Header.Metadata[OutputMetadata.AttentionKey]);
        Assert.Equal(normalize ? "true" : "false", written.Header.Metadata[OutputMetadata.NormalizeKey]);
        var o = written.GetTensor("o");
        byte[] raw = new byte[o.ByteLength];
        written.ReadElements("o", 0, raw);
        float[] actual = new float[o.ElementCount];
        ElementConvert.ToSingle(raw, type, actual);

        using var inputs = SafetensorsFile.Open(input, "inputs");
        byte[] Read(string tensor)
        {
            byte[] bytes = new byte[inputs.GetTensor(tensor).ByteLength];
            inputs.ReadElements(tensor, 0, bytes);
            return bytes;
        }

        float[]? specDecay = decay switch { null => null, "tensor" => gammas, _ => [float.Parse(decay, System.Globalization.CultureInfo.InvariantCulture)] };
        var spec = new LinearAttentionSpec(tokens, heads, kvHeads, dim, type, mask == "causal", LinearFeatureMap.Elu1, specDecay, normalize);
        var expected = ReferenceLinearAttention.Compute(spec, Read("q"), Read("k"), Read("v"));
        // The output is stored in the input dtype: one rounding of that type on top of float32 accumulation.
        double magnitude = expected.Max(Math.Abs);
        double tolerance = (type == ElementType.F32 ? 2e-4 : type == ElementType.F16 ? 2e-3 : 1e-2) * magnitude;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance,
                $"o[token {i / (heads * dim)}, head {i / dim % heads}, {i % dim}] = {actual[i]} but float64 gives {expected[i]} (tolerance {tolerance:G3})");
        }
    }

    /// <summary>q, k, v of random values and a decay [<paramref name="decayHeads"/>] F32 tensor (γ in [0.9, 1)); returns γ.</summary>
    public static float[] WriteInputs(string path, int tokens, int heads, int kvHeads, int dim, ElementType type, int decayHeads)
    {
        float[] gammas = [.. Enumerable.Range(0, decayHeads).Select(h => 0.9f + (0.099f * h / Math.Max(1, decayHeads - 1)))];
        SafetensorsFile.Write(path,
        [
            TestInputs.Tensor("q", type, 1, tokens, heads, dim),
            TestInputs.Tensor("k", type, 2, tokens, kvHeads, dim),
            TestInputs.Tensor("v", type, 3, tokens, kvHeads, dim),
            ("decay", ElementType.F32, [decayHeads], System.Runtime.InteropServices.MemoryMarshal.AsBytes(gammas.AsSpan()).ToArray()),
        ]);
        return gammas;
    }
}
