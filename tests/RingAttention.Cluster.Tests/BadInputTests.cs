using System.Text;
using RingAttention.Attention;
using RingAttention.Grains;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Every kind of bad job is refused before any work is scheduled, with an error naming the field and the limit;
/// no output is left behind and the cluster keeps serving.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class BadInputTests(ClusterFixture fixture)
{
    [Fact]
    public Task Submit_MissingFile_RefusedNamingPath() =>
        AssertRefusedAsync(FileJob(fixture.PathFor("does-not-exist.safetensors")), "inputs", "does-not-exist.safetensors");

    [Fact]
    public Task Submit_DirectoryAsInput_RefusedAsDirectory() =>
        AssertRefusedAsync(FileJob(Directory.CreateDirectory(fixture.PathFor("a-directory")).FullName), "inputs", "is a directory");

    [Fact]
    public Task Submit_NotSafetensors_Refused()
    {
        string path = fixture.PathFor("not-safetensors.txt");
        File.WriteAllText(path, "this is plain text, not a tensor file at all");
        return AssertRefusedAsync(FileJob(path), "inputs", "safetensors");
    }

    [Fact]
    public Task Submit_MissingTensor_RefusedNamingIt()
    {
        string path = fixture.PathFor("no-v.safetensors");
        SafetensorsFile.Write(path, [Tensor("q", 9, 2, 8), Tensor("k", 9, 1, 8)]);
        return AssertRefusedAsync(FileJob(path), "inputs.v", "'v'");
    }

    [Fact]
    public Task Submit_TokensDisagree_Refused()
    {
        string path = fixture.PathFor("tokens-disagree.safetensors");
        SafetensorsFile.Write(path, [Tensor("q", 9, 2, 8), Tensor("k", 8, 1, 8), Tensor("v", 8, 1, 8)]);
        return AssertRefusedAsync(FileJob(path), "inputs.k", "8 tokens but q has 9");
    }

    [Fact]
    public Task Submit_KvHeadsNotDividingHeads_Refused()
    {
        string path = fixture.PathFor("kvheads.safetensors");
        SafetensorsFile.Write(path, [Tensor("q", 9, 4, 8), Tensor("k", 9, 3, 8), Tensor("v", 9, 3, 8)]);
        return AssertRefusedAsync(FileJob(path), "kvHeads", "kvHeads (3) must divide heads (4)");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(257)]
    public Task Submit_HeadDimOutOfRange_Refused(int headDim) =>
        AssertRefusedAsync(SyntheticJob() with { HeadDim = headDim }, "headDim", "between 1 and 256");

    [Fact]
    public Task Submit_ZeroShards_Refused() =>
        AssertRefusedAsync(SyntheticJob() with { Shards = 0 }, "shards", "at least 1");

    [Fact]
    public Task Submit_MoreShardsThanTokens_Refused() =>
        AssertRefusedAsync(SyntheticJob() with { Tokens = 5, Shards = 6 }, "shards", "shards (6) must not exceed tokens (5)");

    [Fact]
    public Task Submit_ShardLargerThanOneHostBuffer_RefusedWithMinimumShards() =>
        AssertRefusedAsync(SyntheticJob() with { Tokens = 1 << 22, Heads = 32, KvHeads = 8, HeadDim = 128, DType = RingAttention.Tensors.ElementType.BF16, Shards = 1 },
            "shards", "use at least 17 shards");

    [Fact]
    public Task Submit_WindowBelowOne_Refused() =>
        AssertRefusedAsync(SyntheticJob() with { Window = 0 }, "window", "at least 1");

    [Fact]
    public Task Submit_UnsupportedDtype_RefusedNamingTensorAndDtype()
    {
        string path = fixture.PathFor("f64.safetensors");
        WriteRawSafetensors(path, """{"q":{"dtype":"F64","shape":[2,1,2],"data_offsets":[0,32]},"k":{"dtype":"F64","shape":[2,1,2],"data_offsets":[32,64]},"v":{"dtype":"F64","shape":[2,1,2],"data_offsets":[64,96]}}""", 96);
        return AssertRefusedAsync(FileJob(path), "inputs.q", "F64");
    }

    [Fact]
    public Task Submit_NonFiniteInput_RefusedNamingTensorAndIndex()
    {
        string path = fixture.PathFor("nan.safetensors");
        var k = Tensor("k", 9, 2, 8);
        byte[] data = k.Data.ToArray();
        ElementConvert.Write(data, ElementType.F32, ((5 * 2) + 1) * 8 + 3, float.NaN);
        SafetensorsFile.Write(path, [Tensor("q", 9, 2, 8), (k.Name, k.Type, k.Shape, data), Tensor("v", 9, 2, 8)]);
        return AssertRefusedAsync(FileJob(path), "inputs.k", "k[5, 1, 3]");
    }

    [Fact]
    public Task Submit_DescaleWithoutFp8_RefusedNamingTheTensor()
    {
        string path = fixture.PathFor("descale-f32.safetensors");
        SafetensorsFile.Write(path, [Tensor("q", 9, 2, 8), Tensor("k", 9, 2, 8), Tensor("v", 9, 2, 8), ("k_descale", ElementType.F32, [], new byte[4])]);
        return AssertRefusedAsync(FileJob(path), "inputs.k_descale", "F8_E4M3 inputs only");
    }

    [Theory]
    [InlineData("k_descale", 3, 1f, "shape [], [1] or [2]")]
    [InlineData("v_descale", 2, 0f, "greater than 0")]
    [InlineData("q_descale", 1, float.NaN, "finite")]
    public Task Submit_Fp8WithBadDescale_RefusedNamingTheTensorAndTheRule(string name, int count, float factor, string expected)
    {
        string path = fixture.PathFor($"fp8-bad-{name}.safetensors");
        var factors = Enumerable.Repeat(factor, count).ToArray();
        SafetensorsFile.Write(path,
        [
            Fp8("q", 2), Fp8("k", 2), Fp8("v", 2),
            (name, ElementType.F32, [count], System.Runtime.InteropServices.MemoryMarshal.AsBytes(factors.AsSpan()).ToArray()),
        ]);
        return AssertRefusedAsync(FileJob(path), $"inputs.{name}", expected);
    }

    [Fact]
    public Task Submit_SyntheticFp8_Refused() =>
        AssertRefusedAsync(SyntheticJob() with { DType = ElementType.F8E4M3 }, "dtype", "synthetic inputs are f32, f16 or bf16");

    [Fact]
    public Task Submit_Fp8NaN_RefusedNamingTheElement()
    {
        string path = fixture.PathFor("fp8-nan.safetensors");
        var q = Fp8("q", 2);
        byte[] codes = q.Data.ToArray();
        codes[(((3 * 2) + 1) * 8) + 2] = 0xFF;
        SafetensorsFile.Write(path, [(q.Name, q.Type, q.Shape, codes), Fp8("k", 2), Fp8("v", 2)]);
        return AssertRefusedAsync(FileJob(path), "inputs.q", "q[3, 1, 2]");
    }

    [Fact]
    public Task Submit_LargerThanMemoryLimit_RefusedWithNumbers() =>
        AssertRefusedAsync(SyntheticJob() with { Tokens = 1 << 20, Heads = 8, KvHeads = 8, HeadDim = 64, Shards = 4 }, "memory", "limit per job is 256 MiB");

    [Fact]
    public Task Submit_OutputDirectoryMissing_Refused() =>
        AssertRefusedAsync(SyntheticJob() with { OutputPath = fixture.PathFor("no/such/dir/o.safetensors") }, "output", "does not exist");

    [Fact]
    public Task Submit_BothFileAndSeed_Refused() =>
        AssertRefusedAsync(FileJob(fixture.PathFor("x.safetensors")) with { SyntheticSeed = 3 }, "inputs", "not both");

    /// <summary>An FP8 tensor of 9 tokens, head dim 8: the codes of 0.5, 1, 1.5, ... (no NaN).</summary>
    private static (string Name, ElementType Type, long[] Shape, ReadOnlyMemory<byte> Data) Fp8(string name, int heads) =>
        (name, ElementType.F8E4M3, [9, heads, 8], Enumerable.Range(0, 9 * heads * 8).Select(i => ElementConvert.SingleToFp8E4M3(0.5f * (1 + (i % 7)))).ToArray());

    private JobSpec FileJob(string input) => new()
    {
        InputPath = input,
        OutputPath = fixture.PathFor($"refused-{Guid.NewGuid():N}.safetensors"),
        Shards = 2,
    };

    private JobSpec SyntheticJob() => new()
    {
        SyntheticSeed = 1,
        Tokens = 64,
        Heads = 2,
        KvHeads = 1,
        HeadDim = 16,
        Shards = 2,
        OutputPath = fixture.PathFor($"refused-{Guid.NewGuid():N}.safetensors"),
    };

    private async Task AssertRefusedAsync(JobSpec spec, string field, string messagePart)
    {
        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(spec));

        Assert.Equal(field, error.Field);
        Assert.Contains(messagePart, error.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(spec.OutputPath), "an output file was left behind");
        Assert.Empty(Directory.GetFiles(fixture.Directory, "*.partial"));
        await AssertClusterServesAsync();
    }

    /// <summary>A refused job must not harm the silos: the next good job completes.</summary>
    private async Task AssertClusterServesAsync()
    {
        var job = await fixture.Cluster.Client.SubmitAsync(SyntheticJob() with { Causal = true });
        var status = await job.WaitAsync();
        Assert.Equal(JobState.Completed, status.State);
    }

    private static (string Name, ElementType Type, long[] Shape, ReadOnlyMemory<byte> Data) Tensor(string name, int tokens, int heads, int dim) =>
        TestInputs.Tensor(name, ElementType.F32, 7, tokens, heads, dim);

    private static void WriteRawSafetensors(string path, string header, int dataBytes)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        using var file = File.Create(path);
        file.Write(BitConverter.GetBytes((ulong)json.Length));
        file.Write(json);
        file.Write(new byte[dataBytes]);
    }
}
