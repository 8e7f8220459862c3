using System.Text.Json;

namespace RingAttention.Cli.Tests;

/// <summary>The benchmarks inside ringattn: the ring at several sizes on the CPU, and a clear refusal without a GPU.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-bench-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task BenchRing_SeveralSizes_MediansEfficiencyAndAVerifiedOutput()
    {
        var bench = await CliProcess.RunAsync("bench", "ring", "--tokens", "1500", "--heads", "4", "--kv-heads", "2", "--head-dim", "32",
            "--shards", "1,3", "--repeat", "2", "--causal", "--silos", "2", "--dir", _directory, "--json");

        Assert.True(bench.ExitCode == 0, bench.ToString());
        using var report = JsonDocument.Parse(bench.Stdout);
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal([1, 3], results.Select(r => r.GetProperty("shards").GetInt32()));
        Assert.Equal(1.0, results[0].GetProperty("efficiency").GetDouble());
        Assert.All(results, r =>
        {
            Assert.Equal(2, r.GetProperty("walls").GetArrayLength());
            Assert.True(r.GetProperty("kernelSeconds").GetDouble() > 0);
        });
        Assert.True(report.RootElement.GetProperty("verification").GetProperty("passed").GetBoolean());
        Assert.True(File.Exists(Path.Combine(_directory, "o3.safetensors")));
    }

    [Fact]
    public async Task BenchRing_BadShardList_RefusedNamingTheFlag()
    {
        var bench = await CliProcess.RunAsync("bench", "ring", "--tokens", "100", "--shards", "1,x", "--dir", _directory);

        Assert.True(bench.ExitCode == 2, bench.ToString());
        Assert.Contains("--shards: 'x' is not a positive integer", bench.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task BenchKernel_WithoutAGpu_SaysSoAndExitsTwo()
    {
        Skip.If(File.Exists("/dev/nvidia0"), "this machine has a GPU: the kernel benchmark runs instead");

        var bench = await CliProcess.RunAsync("bench", "kernel", "--tokens", "256");

        Assert.True(bench.ExitCode == 2, bench.ToString());
        Assert.Contains("needs a CUDA GPU", bench.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bench.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchKernel_Fp8AtAnotherHeadDim_RefusedBeforeLookingForAGpu()
    {
        var bench = await CliProcess.RunAsync("bench", "kernel", "--tokens", "256", "--dtypes", "fp8", "--dims", "128,64");

        Assert.True(bench.ExitCode == 2, bench.ToString());
        Assert.Contains("--dims: fp8 runs at head dims 128 and 256, not 64", bench.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("CUDA", bench.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", "--queries: '0' is not a positive integer")]
    [InlineData("16,300", "--queries: 300 is more than the 256 tokens")]
    public async Task BenchKernel_QueriesOutOfRange_RefusedBeforeLookingForAGpu(string queries, string message)
    {
        var bench = await CliProcess.RunAsync("bench", "kernel", "--tokens", "256", "--queries", queries);

        Assert.True(bench.ExitCode == 2, bench.ToString());
        Assert.Contains(message, bench.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("CUDA", bench.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BenchPeer_TwoAcceleratorsOfOneSilo_DeviceToDeviceBothWays()
    {
        var bench = await CliProcess.RunAsync("bench", "peer", "--device", "ilgpu-cpu:2", "--mib", "1,4", "--reps", "2", "--json");

        Assert.True(bench.ExitCode == 0, bench.ToString());
        using var report = JsonDocument.Parse(bench.Stdout);
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(4, results.Count); // two sizes, two directions
        Assert.Equal(["ilgpu:cpu:0", "ilgpu:cpu:1"], results.Take(2).Select(r => r.GetProperty("from").GetString()));
        Assert.All(results, r =>
        {
            Assert.False(r.GetProperty("staged").GetBoolean());
            Assert.True(r.GetProperty("gbps").GetDouble() > 0);
        });
    }

    [Fact]
    public async Task BenchPeer_OneDevice_RefusedNamingTheFlag()
    {
        var bench = await CliProcess.RunAsync("bench", "peer", "--device", "ilgpu-cpu", "--mib", "1");

        Assert.True(bench.ExitCode == 2, bench.ToString());
        Assert.Contains("--device", bench.Output, StringComparison.Ordinal);
        Assert.Contains("needs two", bench.Output, StringComparison.Ordinal);
    }

    /// <summary>Both split kernels on the same paged K/V, split over two shards that share a turn (the tensor-core one
    /// through its warp-shuffle twin): two timings, the second's merged output within bf16's rounding of P of the
    /// first's, nothing NaN.</summary>
    [Fact]
    public async Task BenchDecode_BothSplitKernels_TimedAndCompared()
    {
        var bench = await CliProcess.RunAsync("bench", "decode", "--cpu", "--keys", "80", "--rows", "1", "--heads", "4/1", "--head-dim", "32",
            "--page-tokens", "50", "--shards", "2", "--reps", "1", "--json");

        Assert.True(bench.ExitCode == 0, bench.ToString());
        using var report = JsonDocument.Parse(bench.Stdout);
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["float", "mma"], results.Select(r => r.GetProperty("kernel").GetString()));
        Assert.All(results, r =>
        {
            Assert.Equal(2, r.GetProperty("shards").GetInt32());
            Assert.True(r.GetProperty("finite").GetBoolean());
            Assert.True(r.GetProperty("medianMs").GetDouble() > 0);
        });
        Assert.InRange(results[1].GetProperty("maxOutputDiff").GetDouble(), 0, 1e-2);
        Assert.InRange(results[1].GetProperty("maxLseDiff").GetDouble(), 0, 1e-4);
    }

    [Theory]
    [InlineData("--rows", "3", "--rows: 3 rows x 4 query heads")]
    [InlineData("--dtype", "f32", "--dtype: f32 is not timed here")]
    [InlineData("--heads", "32:8", "--heads: '32:8' is not HQ/HKV")]
    [InlineData("--kernels", "float,fast", "--kernels: 'fast' is not one of float, mma, tiled")]
    [InlineData("--kernels", "mma,tiled", "--kernels: 'tiled' runs on a CUDA GPU only")]
    [InlineData("--shards", "3", "--shards: 3 shards need at least as many pages; 64 keys in pages of 16384 make 1")]
    [InlineData("--shards", "0", "--shards: must be at least 1")]
    [InlineData("--target-warps", "4096,0", "--target-warps: '0' is not a positive integer")]
    public async Task BenchDecode_BadInput_RefusedNamingTheFlag(string flag, string value, string message)
    {
        var bench = await CliProcess.RunAsync("bench", "decode", "--cpu", "--keys", "64", "--heads", "8/2", flag, value);

        Assert.True(bench.ExitCode == 2, bench.ToString());
        Assert.Contains(message, bench.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", bench.Output, StringComparison.Ordinal);
    }
}
