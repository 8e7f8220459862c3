using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RingAttention.Silo;
using RingAttention.Tensors;

namespace RingAttention.Cli.Tests;

/// <summary>
/// A wrong address or cluster id fails fast with a message that says what was tried and how to find the right id;
/// RINGATTN_CLUSTER and RINGATTN_CLUSTER_ID stand in for the flags.
/// </summary>
public sealed class ClusterAddressTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-address-").FullName;
    private EmbeddedCluster _cluster = null!;

    public async Task InitializeAsync() =>
        _cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions { Silos = 1, AllowedRoots = [_directory] });

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private string Gateway => $"127.0.0.1:{_cluster.Hosts[0].GatewayPort}";

    private string Inputs()
    {
        string path = Path.Combine(_directory, "in.safetensors");
        RandomAttentionInputs.Write(path, 300, 2, 1, 16, ElementType.F32, seed: 5);
        return path;
    }

    [Fact]
    public async Task Run_NothingListensAtTheAddress_FailsWithin15SecondsSayingWhatWasTried()
    {
        int port = FreePort();
        var clock = Stopwatch.StartNew();

        var run = await CliProcess.RunAsync("run", "--inputs", Inputs(), "--output", Path.Combine(_directory, "o.safetensors"), "--cluster", $"127.0.0.1:{port}");

        Assert.True(run.ExitCode == 6, run.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains($"127.0.0.1:{port}", run.Output, StringComparison.Ordinal);
        Assert.Contains("nothing accepts connections", run.Output, StringComparison.Ordinal);
        Assert.Contains("'ringattention'", run.Output, StringComparison.Ordinal);
        Assert.Contains("scripts/local-cluster.sh id", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_WrongClusterId_FailsWithin15SecondsSayingTheIdIsProbablyWrong()
    {
        var clock = Stopwatch.StartNew();

        var run = await CliProcess.RunAsync("run", "--inputs", Inputs(), "--output", Path.Combine(_directory, "o.safetensors"),
            "--cluster", Gateway, "--cluster-id", "not-this-one");

        Assert.True(run.ExitCode == 6, run.ToString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.Contains("'not-this-one'", run.Output, StringComparison.Ordinal);
        Assert.Contains("the cluster id is probably wrong", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_ClusterFromEnvironment_NeedsNoClusterFlags()
    {
        string output = Path.Combine(_directory, "env.safetensors");
        var environment = new Dictionary<string, string>
        {
            ["RINGATTN_CLUSTER"] = Gateway,
            ["RINGATTN_CLUSTER_ID"] = _cluster.Hosts[0].ClusterId,
        };

        var run = await CliProcess.RunWithEnvironmentAsync(environment, "run", "--inputs", Inputs(), "--output", output, "--shards", "2");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains($"cluster {_cluster.Hosts[0].ClusterId} at {Gateway}", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(output));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
