namespace RingAttention.Cli.Tests;

/// <summary>The ringattn command on real files: generate, run on an embedded cluster, verify, and refuse bad input.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathFor(string name) => Path.Combine(_directory, name);

    [Fact]
    public async Task GenRunVerify_RealFile_WritesVerifiedOutput()
    {
        string inputs = PathFor("qkv.safetensors");
        string output = PathFor("o.safetensors");

        var gen = await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "777", "--heads", "4", "--kv-heads", "1", "--head-dim", "40", "--dtype", "f16");
        Assert.True(gen.ExitCode == 0, gen.ToString());

        var run = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", output, "--causal", "--window", "100", "--shards", "3", "--silos", "2");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.True(File.Exists(output));

        var verify = await CliProcess.RunAsync("verify", "--inputs", inputs, "--output", output, "--causal", "--window", "100", "--rows", "50");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("verification passed", verify.Output, StringComparison.Ordinal);

        // Checked as non-causal, against what the output's metadata records: a warning, and the check fails.
        var wrongMask = await CliProcess.RunAsync("verify", "--inputs", inputs, "--output", output, "--causal", "false", "--rows", "50");
        Assert.True(wrongMask.ExitCode == 4, wrongMask.ToString());
        Assert.Contains("warning: --causal False disagrees with the output's metadata (True)", wrongMask.Output, StringComparison.Ordinal);
    }

    /// <summary>The README's FP8 commands: an FP8 file with descale factors, run, and checked against float64 of the
    /// values it stands for.</summary>
    [Fact]
    public async Task Fp8_GenRunVerify_AsTheReadmeSays()
    {
        string inputs = PathFor("qkv-fp8.safetensors"), output = PathFor("out-fp8.safetensors");
        var gen = await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "999", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "fp8");
        Assert.True(gen.ExitCode == 0, gen.ToString());
        Assert.Contains("F8_E4M3", gen.Output, StringComparison.Ordinal);

        var run = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", output, "--causal", "--shards", "3", "--silos", "2");
        Assert.True(run.ExitCode == 0, run.ToString());
        using (var written = RingAttention.Tensors.SafetensorsFile.Open(output, "output"))
        {
            Assert.Equal(RingAttention.Tensors.ElementType.BF16, written.GetTensor("o").Type);
        }

        var verify = await CliProcess.RunAsync("verify", "--output", output, "--rows", "40");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("verification passed", verify.Output, StringComparison.Ordinal);
    }

    /// <summary>The README's "queries of another length" commands, as written there (smaller sizes).</summary>
    [Fact]
    public async Task QueriesFile_RunAndVerify_AsTheReadmeSays()
    {
        string keys = PathFor("qkv.safetensors"), queries = PathFor("q.safetensors"), output = PathFor("last16.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", keys, "--tokens", "1001", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16")).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", queries, "--tokens", "16", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16")).ExitCode);

        var run = await CliProcess.RunAsync("run", "--inputs", keys, "--queries", queries, "--output", output, "--causal", "--shards", "2", "--silos", "2");
        Assert.True(run.ExitCode == 0, run.ToString());

        // verify finds the input, the queries file and their positions (985..1000) in the output's metadata.
        var verify = await CliProcess.RunAsync("verify", "--output", output);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("checked 16 tokens x 8 heads", verify.Output, StringComparison.Ordinal);

        var offsetAlone = await CliProcess.RunAsync("run", "--inputs", keys, "--output", PathFor("x.safetensors"), "--q-offset", "3");
        Assert.Equal(2, offsetAlone.ExitCode);
        Assert.Contains("--q-offset needs --queries", offsetAlone.Output, StringComparison.Ordinal);
    }

    /// <summary>The README's linear-attention commands, as written there.</summary>
    [Fact]
    public async Task LinearAttention_RunBothExchanges_AsTheReadmeSays()
    {
        string inputs = PathFor("long.safetensors"), output = PathFor("linear-o.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "20000", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16")).ExitCode);
        var causal = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", output, "--causal", "--attention", "linear", "--decay", "0.999", "--shards", "4");
        Assert.True(causal.ExitCode == 0, causal.ToString());
        // One state: 8 state heads (one per query head with decay) x (64² + 64) floats x 4 bytes.
        Assert.Matches(@"states sent between shards\s*│\s*[\d.]+ MB in \d+ states \(0\.133 MB each\)", causal.Output);
        using (var file = RingAttention.Tensors.SafetensorsFile.Open(output, "output"))
        {
            Assert.Equal("linear", file.Header.Metadata["attention"]);
            Assert.False(file.Header.Contains("lse"));
        }

        var ring = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", output, "--attention", "linear", "--exchange", "ring", "--shards", "4", "--force");
        Assert.True(ring.ExitCode == 0, ring.ToString());
        var scale = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", PathFor("x.safetensors"), "--attention", "linear", "--scale", "0.1");
        Assert.Equal(2, scale.ExitCode);
        Assert.Contains("--scale: the softmax scale does not apply to linear attention", scale.Output, StringComparison.Ordinal);
        // verify reads the options from the output's metadata and checks sampled rows against the float64 recurrence.
        var verify = await CliProcess.RunAsync("verify", "--output", output);
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("checked 64 tokens x 8 heads (BF16, linear attention, no mask) against the float64 recurrence", verify.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("INT")]
    [InlineData("TERM")]
    public async Task Run_InterruptedMidJob_CancelsExits130AndLeavesNoFile(string signal)
    {
        string inputs = PathFor("big.safetensors");
        string output = PathFor("interrupted.safetensors");
        var gen = await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "16384", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16");
        Assert.True(gen.ExitCode == 0, gen.ToString());

        // The progress view prints the job id once the job runs on the cluster.
        var (run, seconds) = await CliProcess.RunInterruptedAsync(signal, "ring steps",
            "run", "--inputs", inputs, "--output", output, "--shards", "8", "--silos", "2");

        Assert.True(run.ExitCode == 130, run.ToString());
        Assert.Contains("cancelled", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("wrote", run.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
        Assert.Empty(Directory.GetFiles(_directory, "*.partial"));
        // The job stops within a step; the rest is the embedded cluster shutting down.
        Assert.True(seconds < 5, $"took {seconds:0.0} s from the signal to the exit");
    }

    [Fact]
    public async Task Run_AfterAKilledRun_ItsAbandonedTempOutputIsRemoved()
    {
        string inputs = PathFor("killed.safetensors");
        string output = PathFor("killed-out.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "16384", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16")).ExitCode);
        var (killed, _) = await CliProcess.RunInterruptedAsync("KILL", "ring steps", "run", "--inputs", inputs, "--output", output, "--shards", "8", "--silos", "2");
        string[] left = Directory.GetFiles(_directory, ".killed-out.safetensors.*.partial");
        Assert.True(left.Length == 1, killed.ToString());
        // Older than the sweep's guard against a file being created this instant.
        File.SetLastWriteTimeUtc(left[0], DateTime.UtcNow - TimeSpan.FromMinutes(5));

        var again = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", output, "--shards", "4", "--silos", "1");

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Empty(Directory.GetFiles(_directory, "*.partial"));
    }

    [Fact]
    public async Task Run_OutputIsForeignFile_RefusedUnlessForce()
    {
        string inputs = PathFor("small.safetensors");
        string victim = PathFor("victim.conf");
        File.WriteAllText(victim, "keep me");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "256", "--heads", "2", "--kv-heads", "1", "--head-dim", "16")).ExitCode);

        var refused = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", victim, "--silos", "1", "--shards", "2");
        Assert.True(refused.ExitCode == 2, refused.ToString());
        Assert.Contains("--force", refused.Output, StringComparison.Ordinal);
        Assert.Equal("keep me", File.ReadAllText(victim));

        var forced = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", victim, "--silos", "1", "--shards", "2", "--force");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.NotEqual("keep me", File.ReadAllText(victim));
    }

    [Fact]
    public async Task Demo_READMEsMainCommand_VerificationPasses()
    {
        // The README's first command (`ringattn demo`), at its default size: 3 silos, 16K tokens, 6 shards.
        var demo = await CliProcess.RunAsync("demo");

        Assert.True(demo.ExitCode == 0, demo.ToString());
        Assert.Contains("verification passed", demo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitJobSample_READMEsSdkSnippet_WritesOutput()
    {
        string sample = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../samples/SubmitJob/bin/Release/net10.0/SubmitJob.dll"));
        Assert.True(File.Exists(sample), $"the sample is built with the solution; not found at {sample}");
        string inputs = PathFor("sample-in.safetensors");
        string output = PathFor("sample-out.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "1024", "--heads", "4", "--kv-heads", "2", "--head-dim", "32")).ExitCode);

        var run = await CliProcess.RunDotnetAsync(sample, inputs, output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("wrote", run.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(output));
        // The SDK does not write the framework's logs to its host program's console.
        Assert.DoesNotContain("warn:", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Orleans", run.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run", "--casual", "--causal")]
    [InlineData("run", "--shard", "--shards")]
    [InlineData("gen", "--tokns", "--tokens")]
    [InlineData("verify", "--row", "--rows")]
    [InlineData("bench ring", "--shard", "--shards")]
    public async Task UnknownOption_RefusedWithSuggestionAndNothingWritten(string command, string typo, string meant)
    {
        string output = PathFor($"typo-{command.Replace(' ', '-')}.safetensors");
        string[] args = command == "gen" ? ["gen", "--output", output, typo, "100"]
            : command == "bench ring" ? ["bench", "ring", "--dir", _directory, typo, "4"]
            : [command, "--inputs", PathFor("none.safetensors"), "--output", output, typo, .. (typo == "--casual" ? Array.Empty<string>() : ["4"])];

        var result = await CliProcess.RunAsync(args);

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains($"Unknown option '{typo[2..]}'", result.Output, StringComparison.Ordinal);
        Assert.Contains($"Did you mean {meant}?", result.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("run")]
    [InlineData("gen")]
    [InlineData("verify")]
    [InlineData("demo")]
    [InlineData("bench")]
    [InlineData("bench kernel")]
    [InlineData("bench ring")]
    [InlineData("bench verify")]
    [InlineData("bench peer")]
    [InlineData("bench linear")]
    [InlineData("bench decode")]
    [InlineData("silo")]
    public async Task Help_EveryCommand_PrintsUsageWithoutCrashing(string command)
    {
        var help = await CliProcess.RunAsync([.. command.Split(' '), "--help"]);

        Assert.True(help.ExitCode == 0, help.ToString());
        Assert.Contains("USAGE", help.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", help.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingInputFile_ExitsTwoNamingFieldWithoutStackTrace()
    {
        string output = PathFor("never.safetensors");

        var run = await CliProcess.RunAsync("run", "--inputs", PathFor("missing.safetensors"), "--output", output, "--silos", "1", "--shards", "1");

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("error: --inputs:", run.Output, StringComparison.Ordinal);
        Assert.Contains("missing.safetensors", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public async Task Gen_BadDtype_ExitsTwoNamingField()
    {
        var gen = await CliProcess.RunAsync("gen", "--output", PathFor("x.safetensors"), "--dtype", "int8");

        Assert.True(gen.ExitCode == 2, gen.ToString());
        Assert.Contains("error: --dtype:", gen.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", gen.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingRequiredOption_ExitsTwo()
    {
        var run = await CliProcess.RunAsync("run", "--output", PathFor("o.safetensors"));

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("--inputs is required", run.Output, StringComparison.Ordinal);
    }
}
