using RingAttention.Attention;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Queries of another length than the keys (issue 15's primitive): q [n, Hq, D] from its own file at global positions
/// [P, P + n) against k, v [Tk, Hkv, D] of the input file; causal is bottom-right aligned by default (P = Tk - n). The
/// output has n rows and matches float64 attention at those positions, on the CPU backend and the device-resident ring.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class QueryJobTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData(1, 1, 301, null, true, null, ElementType.BF16, 4, 2)]
    [InlineData(7, 3, 301, null, true, null, ElementType.F32, 4, 1)]
    [InlineData(100, 4, 257, 50, true, null, ElementType.BF16, 4, 4)]
    [InlineData(33, 2, 129, 200, true, 40, ElementType.F16, 6, 2)]
    [InlineData(64, 4, 200, 0, false, 17, ElementType.BF16, 4, 2)]
    [InlineData(129, 3, 129, null, false, null, ElementType.F32, 2, 1)]
    public Task Run_QueriesAtPositions_MatchFloat64(int n, int shards, int keys, int? offset, bool causal, int? window, ElementType type, int heads, int kvHeads) =>
        QueryJobCheck.RunAsync(fixture.Cluster, fixture.PathFor, n, shards, keys, offset, causal, window, type, heads, kvHeads);

    [Theory]
    [InlineData(302, 1, null, "queries", "302 rows but k and v have 301")]
    [InlineData(3, 4, null, "shards", "must not exceed the query rows (3)")]
    [InlineData(3, 1, -1, "queryOffset", "at least 0")]
    public async Task Submit_BadQueries_Refused(int n, int shards, int? offset, string field, string expected)
    {
        string kv = fixture.PathFor($"bad-kv-{n}-{shards}.safetensors"), q = fixture.PathFor($"bad-q-{n}-{shards}.safetensors");
        TestInputs.Write(kv, 301, 2, 1, 8, ElementType.F32, seed: 5);
        SafetensorsFile.Write(q, [TestInputs.Tensor("q", ElementType.F32, 6, n, 2, 8)]);
        var spec = new JobSpec { InputPath = kv, QueriesPath = q, QueryOffset = offset, OutputPath = fixture.PathFor("bad-q-out.safetensors"), Shards = shards };
        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(spec));
        Assert.Equal(field, error.Field);
        Assert.Contains(expected, error.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(spec.OutputPath));
    }

    [Fact]
    public async Task Submit_QueriesOutsideTheAllowedRoots_Refused()
    {
        string kv = fixture.PathFor("roots-kv.safetensors");
        TestInputs.Write(kv, 31, 2, 1, 8, ElementType.F32, seed: 5);
        string outside = Path.Combine(Path.GetTempPath(), $"outside-{Guid.NewGuid():N}.safetensors");
        var spec = new JobSpec { InputPath = kv, QueriesPath = outside, OutputPath = fixture.PathFor("roots-out.safetensors") };
        var error = await Assert.ThrowsAsync<SpecValidationException>(() => fixture.Cluster.Client.SubmitAsync(spec));
        Assert.Equal("queries", error.Field);
    }
}

/// <summary>The same jobs on the device-resident ring (the portable kernel on ILGPU's CPU accelerator).</summary>
public sealed class ResidentQueryJobTests(ResidentClusterFixture fixture) : IClassFixture<ResidentClusterFixture>
{
    [Theory]
    [InlineData(1, 1, 301, null, true, null, ElementType.BF16, 4, 2)]
    [InlineData(45, 3, 97, 10, true, 20, ElementType.BF16, 4, 1)]
    public Task Run_QueriesAtPositions_MatchFloat64(int n, int shards, int keys, int? offset, bool causal, int? window, ElementType type, int heads, int kvHeads) =>
        QueryJobCheck.RunAsync(fixture.Cluster, fixture.PathFor, n, shards, keys, offset, causal, window, type, heads, kvHeads);
}

internal static class QueryJobCheck
{
    public static async Task RunAsync(RingAttention.Silo.EmbeddedCluster cluster, Func<string, string> pathFor,
        int n, int shards, int keys, int? offset, bool causal, int? window, ElementType type, int heads, int kvHeads)
    {
        string name = $"{n}-{shards}-{keys}-{offset}-{causal}-{window}-{type}";
        string kv = pathFor($"kv-{name}.safetensors"), q = pathFor($"q-{name}.safetensors"), output = pathFor($"o-{name}.safetensors");
        TestInputs.Write(kv, keys, heads, kvHeads, 32, type, seed: keys);
        SafetensorsFile.Write(q, [TestInputs.Tensor("q", type, n + 1000, n, heads, 32)]);
        var job = await cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = kv,
            QueriesPath = q,
            QueryOffset = offset,
            OutputPath = output,
            Causal = causal,
            Window = window,
            Shards = shards,
        });
        var status = await job.WaitAsync();
        Assert.True(status.State == JobState.Completed, status.Error);
        using (var written = SafetensorsFile.Open(output, "output"))
        {
            Assert.Equal([n, heads, 32], written.GetTensor("o").Shape);
            Assert.Equal([heads, n], written.GetTensor("lse").Shape);
            var recorded = OutputMetadata.Read(written.Header.Metadata)!;
            Assert.Equal(offset ?? keys - n, recorded.QueryOffset);
        }

        var report = OutputVerifier.Verify(kv, output, new AttentionMask(causal, window), null, rows: n, queriesPath: q, queryOffset: offset);
        Assert.True(report.Passed, report.Failure);
    }
}
