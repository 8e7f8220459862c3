using RingAttention.Silo.Hosting;

namespace RingAttention.Cli.Tests;

/// <summary>
/// <c>ringattn silo</c>: silos of one cluster in separate processes of this host (what the self-contained binary
/// offers where no .NET is installed, e.g. one silo per GPU); a job submitted to them completes and stopping them is
/// orderly.
/// </summary>
public sealed class SiloCommandTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ringattn-silocmd-" + Guid.NewGuid().ToString("N")[..8]);

    public SiloCommandTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Silo_TwoProcessesOneCluster_JobCompletesAcrossThem()
    {
        int[] ports = FreePorts.Take(4);
        string clusterId = "silocmd-" + Guid.NewGuid().ToString("N")[..6];
        string[] Common(int silo, int gateway) =>
            ["silo", "--device", "cpu", "--silo-port", $"{silo}", "--gateway-port", $"{gateway}", "--cluster-id", clusterId, "--allowed-root", _directory];
        await using var first = await CliProcess.StartAsync("silo of cluster", Common(ports[0], ports[1]));
        await using var second = await CliProcess.StartAsync("silo of cluster", [.. Common(ports[2], ports[3]), "--primary-port", $"{ports[0]}"]);
        Assert.Contains($"gateway 127.0.0.1:{ports[1]}", first.Output, StringComparison.Ordinal);
        string input = Path.Combine(_directory, "in.safetensors");
        string output = Path.Combine(_directory, "out.safetensors");
        var gen = await CliProcess.RunAsync("gen", "--output", input, "--tokens", "900", "--heads", "4", "--kv-heads", "2", "--head-dim", "32");
        Assert.True(gen.ExitCode == 0, gen.ToString());

        var run = await CliProcess.RunAsync("run", "--cluster", $"127.0.0.1:{ports[1]}", "--cluster-id", clusterId,
            "--inputs", input, "--output", output, "--causal", "--shards", "4", "--json");

        Assert.True(run.ExitCode == 0, run.ToString() + first.Output + second.Output);
        using var report = System.Text.Json.JsonDocument.Parse(run.Stdout);
        var job = report.RootElement.GetProperty("job");
        Assert.True(job.GetProperty("remoteTransfers").GetInt32() > 0, "no block crossed the two processes");
        var verify = await CliProcess.RunAsync("verify", "--output", output, "--inputs", input, "--rows", "64");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Equal(0, await second.StopAsync());
        Assert.Equal(0, await first.StopAsync());
    }

    /// <summary>The README's HTTP example: a silo process with --http-port takes a job as JSON and streams it to the end.</summary>
    [Fact]
    public async Task Silo_HttpPort_JobApiRunsAJobAsTheReadmeSays()
    {
        int[] ports = FreePorts.Take(3);
        string clusterId = "silocmd-http-" + Guid.NewGuid().ToString("N")[..6];
        await using var silo = await CliProcess.StartAsync("silo of cluster",
            ["silo", "--device", "cpu", "--silo-port", $"{ports[0]}", "--gateway-port", $"{ports[1]}", "--http-port", $"{ports[2]}",
             "--cluster-id", clusterId, "--allowed-root", _directory]);
        Assert.Contains($"job API http://127.0.0.1:{ports[2]}/v1/jobs", silo.Output, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[2]}/"), Timeout = TimeSpan.FromSeconds(60) };
        string output = Path.Combine(_directory, "http-o.safetensors");

        using var submitted = await http.PostAsync("v1/jobs", new StringContent(
            $$"""{"syntheticSeed": 7, "tokens": 4096, "heads": 8, "kvHeads": 2, "headDim": 64, "causal": true, "shards": 2, "outputPath": "{{output}}"}""",
            System.Text.Encoding.UTF8, "application/json"));
        Assert.True(submitted.StatusCode == System.Net.HttpStatusCode.Created, await submitted.Content.ReadAsStringAsync());
        string id = System.Text.Json.JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString()!;
        string events = await http.GetStringAsync($"v1/jobs/{id}/events");

        Assert.Contains("\"state\":\"Completed\"", events.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^1], StringComparison.Ordinal);
        Assert.True(File.Exists(output));

        // `ringattn run --json` against the same silo reports the status object the API returns for that job.
        string input = Path.Combine(_directory, "http-in.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", input, "--tokens", "700", "--heads", "4", "--kv-heads", "2", "--head-dim", "32")).ExitCode);
        var run = await CliProcess.RunAsync("run", "--cluster", $"127.0.0.1:{ports[1]}", "--cluster-id", clusterId,
            "--inputs", input, "--output", Path.Combine(_directory, "http-run-o.safetensors"), "--causal", "--shards", "2", "--json");
        Assert.True(run.ExitCode == 0, run.ToString());
        var reported = System.Text.Json.Nodes.JsonNode.Parse(run.Stdout)!["status"]!;
        var served = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync($"v1/jobs/{reported["jobId"]}"))!;
        Assert.Equal("Completed", (string?)reported["state"]);
        Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(served, reported), $"run --json: {reported.ToJsonString()}\nAPI: {served.ToJsonString()}");
        Assert.Equal(0, await silo.StopAsync());
    }

    [Fact]
    public async Task Silo_UnknownDevice_RefusedNamingTheFlag()
    {
        var silo = await CliProcess.RunAsync("silo", "--device", "gpu0");

        Assert.True(silo.ExitCode == 2, silo.ToString());
        Assert.Contains("--device: 'gpu0'", silo.Output, StringComparison.Ordinal);
    }
}
