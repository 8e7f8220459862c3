using System.Text.RegularExpressions;
using RingAttention.Cli.Tests;
using RingAttention.Grains;
using RingAttention.Tensors;
using Xunit.Abstractions;

namespace RingAttention.Integration.Tests;

/// <summary>
/// The README's cluster commands, as a user runs them: <c>ringattn run --cluster ...</c> against the three silo
/// processes, to completion, interrupted (SIGINT, SIGTERM), and killed (the job's lease ends it).
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed partial class CliClusterTests(HarnessFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Run_ThroughGatewaysAndThroughRedis_WritesOutput()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor("cli-input.safetensors"), 2048, 4, 2, 32, ElementType.BF16, seed: 21);
        string id = await fixture.Cluster.ClusterIdAsync();
        string gateways = string.Join(',', (await fixture.Cluster.GatewaysAsync()).Select(g => $"localhost:{g.Port}"));

        foreach (string cluster in new[] { gateways, $"redis://localhost:{fixture.Cluster.RedisPort}" })
        {
            string outputPath = fixture.PathFor($"cli-out-{cluster.Length}.safetensors");
            var run = await CliProcess.RunAsync("run", "--inputs", input, "--output", outputPath, "--causal", "--cluster", cluster, "--cluster-id", id);

            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.True(File.Exists(outputPath));
        }
    }

    [SkippableFact]
    public async Task Run_ClusterFromTheScriptsEnv_NeedsNoClusterFlags()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor("cli-env-input.safetensors"), 1024, 4, 2, 32, ElementType.BF16, seed: 23);
        string output = fixture.PathFor("cli-env-out.safetensors");
        string exports = await fixture.Cluster.EnvAsync();
        Assert.Contains("export RINGATTN_CLUSTER=", exports, StringComparison.Ordinal);

        // As the README says: eval "$(scripts/local-cluster.sh env)", then ringattn without --cluster/--cluster-id.
        var start = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add($"{exports.Trim()}; exec dotnet \"$0\" run --inputs \"$1\" --output \"$2\"");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ringattn.dll"));
        start.ArgumentList.Add(input);
        start.ArgumentList.Add(output);
        using var process = System.Diagnostics.Process.Start(start)!;
        string printed = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.True(process.ExitCode == 0, printed);
        Assert.Contains($"cluster {await fixture.Cluster.ClusterIdAsync()} at", printed, StringComparison.Ordinal);
        Assert.True(File.Exists(output));
    }

    [SkippableTheory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Run_InterruptedMidJob_JobCancelledOnTheClusterExit130NoPartial(string signal)
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor($"cli-long-{signal}.safetensors"), 32_768, 8, 2, 64, ElementType.BF16, seed: 22);
        string outputPath = fixture.PathFor($"cli-interrupted-{signal}.safetensors");

        var (run, seconds) = await CliProcess.RunInterruptedAsync(signal, "ring steps",
            "run", "--inputs", input, "--output", outputPath, "--causal", "--shards", "6",
            "--cluster", $"redis://localhost:{fixture.Cluster.RedisPort}", "--cluster-id", await fixture.Cluster.ClusterIdAsync());

        output.WriteLine($"SIG{signal}: exit {run.ExitCode} {seconds:0.00} s after the signal");
        Assert.True(run.ExitCode == 130, run.ToString());
        Assert.True(seconds < 2, $"took {seconds:0.00} s");
        var status = await fixture.Client.GetJob(JobIdIn(run.Output)).GetStatusAsync();
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.False(File.Exists(outputPath));
        Assert.Empty(Directory.GetFiles(fixture.Directory, $".cli-interrupted-{signal}*.partial"));
    }

    [SkippableFact]
    public async Task Run_CliKilled_JobCancelledWhenItsLeaseEnds()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        // 65536 tokens of 4 heads (twice the work of 32768 of 8, in half the memory a silo lends): with 32768 of 8 the
        // warm cluster of a full run finished the job before the 7 s below were up.
        string input = Inputs.Write(fixture.PathFor("cli-killed.safetensors"), 65_536, 4, 1, 64, ElementType.BF16, seed: 23);
        string outputPath = fixture.PathFor("cli-killed-out.safetensors");

        var (run, _) = await CliProcess.RunInterruptedAsync("KILL", "ring steps",
            "run", "--inputs", input, "--output", outputPath, "--causal", "--shards", "6", "--lease", "5",
            "--cluster", $"redis://localhost:{fixture.Cluster.RedisPort}", "--cluster-id", await fixture.Cluster.ClusterIdAsync());
        var job = fixture.Client.GetJob(JobIdIn(run.Output));

        // No status calls arrive any more: within the lease (5 s) plus a watchdog period the job is cancelled, long
        // before it could finish (twice the 7-11 s of ring work that 32768 tokens of 8 heads take here).
        await Task.Delay(TimeSpan.FromSeconds(7));
        var status = await job.GetStatusAsync();

        output.WriteLine($"after the CLI was killed: {status.State}: {status.Error}");
        Assert.Equal(JobState.Cancelled, status.State);
        Assert.Contains("client went away", status.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(outputPath));
    }

    [SkippableFact]
    public async Task Run_Detached_ExitsAtOnceAndTheJobRunsOn()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor("cli-detached.safetensors"), 4096, 4, 2, 32, ElementType.BF16, seed: 24);
        string outputPath = fixture.PathFor("cli-detached-out.safetensors");

        var run = await CliProcess.RunAsync("run", "--inputs", input, "--output", outputPath, "--causal", "--detach", "--lease", "5",
            "--cluster", $"redis://localhost:{fixture.Cluster.RedisPort}", "--cluster-id", await fixture.Cluster.ClusterIdAsync());

        Assert.True(run.ExitCode == 0, run.ToString());
        // Nobody watches the job, and it has no lease: it completes.
        await Task.Delay(TimeSpan.FromSeconds(7));
        var status = await fixture.Client.GetJob(JobIdIn(run.Output)).WaitAsync();
        Assert.Equal(JobState.Completed, status.State);
        Assert.True(File.Exists(outputPath));
    }

    private static string JobIdIn(string cliOutput) => JobId().Match(cliOutput) is { Success: true } m
        ? m.Value
        : throw new Xunit.Sdk.XunitException("no job id in the CLI output:\n" + cliOutput);

    [GeneratedRegex(@"job-\d{8}-\d{6}-[0-9a-f]{8}")]
    private static partial Regex JobId();
}
