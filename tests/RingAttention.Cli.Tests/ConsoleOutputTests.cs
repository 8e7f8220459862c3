using System.Diagnostics;
using System.Text.Json;
using RingAttention.Tensors;

namespace RingAttention.Cli.Tests;

/// <summary>
/// What the console shows: the product's output only (framework logs go to a file), one JSON document on stdout with
/// --json, a line per stage off a terminal, errors that name the flag, and what an output file records.
/// </summary>
public sealed class ConsoleOutputTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-console-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathFor(string name) => Path.Combine(_directory, name);

    [Fact]
    public async Task Demo_Console_ShowsNoFrameworkLogAndNamesTheLogFile()
    {
        string log = PathFor("demo.log");

        var demo = await CliProcess.RunAsync("demo", "--tokens", "2048", "--shards", "4", "--log-file", log);

        Assert.True(demo.ExitCode == 0, demo.ToString());
        Assert.Contains("verification passed", demo.Stdout, StringComparison.Ordinal);
        foreach (string framework in new[] { "warn:", "fail:", "info:", "Orleans.", "   at " })
        {
            Assert.DoesNotContain(framework, demo.Output, StringComparison.Ordinal);
        }

        Assert.Contains($"framework log: {log}", demo.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(log));
        // An orderly shutdown: nothing failed while the silos stopped.
        Assert.DoesNotContain(" fail ", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
        Assert.DoesNotContain(" crit ", await File.ReadAllTextAsync(log), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_Json_StdoutIsOneJsonDocumentAndNothingElse()
    {
        var demo = await CliProcess.RunAsync("demo", "--tokens", "1024", "--shards", "3", "--silos", "2", "--json", "--log-file", PathFor("json.log"));

        Assert.True(demo.ExitCode == 0, demo.ToString());
        using var document = JsonDocument.Parse(demo.Stdout);
        var root = document.RootElement;
        Assert.Equal(1024, root.GetProperty("job").GetProperty("tokens").GetInt32());
        Assert.Equal(3, root.GetProperty("job").GetProperty("shards").GetInt32());
        // The wall time splits into before the ring (inputs), the ring and after it (outputs): each part measured; before
        // and after never overlap the ring's last start and end, so they fit in the wall time beside it (the ring
        // figure is the slowest shard's own, which may have started before the last one did).
        var job = root.GetProperty("job");
        double wall = job.GetProperty("wallSeconds").GetDouble(), before = job.GetProperty("beforeRingSeconds").GetDouble(),
            ring = job.GetProperty("ringSeconds").GetDouble(), after = job.GetProperty("afterRingSeconds").GetDouble();
        Assert.True(before > 0 && ring > 0 && after > 0 && before + after < wall && ring < wall, $"wall {wall}: before {before}, ring {ring}, after {after}");
        Assert.True(root.GetProperty("verification").GetProperty("passed").GetBoolean());
        Assert.Equal(PathFor("json.log"), root.GetProperty("log").GetString());
        Assert.Single(demo.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        // The human lines went to stderr.
        Assert.Contains("verification passed", demo.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadInput_Json_ErrorDocumentOnStdout()
    {
        var run = await CliProcess.RunAsync("run", "--inputs", PathFor("missing.safetensors"), "--output", PathFor("o.safetensors"), "--json");

        Assert.Equal(2, run.ExitCode);
        using var document = JsonDocument.Parse(run.Stdout);
        Assert.Equal("--inputs", document.RootElement.GetProperty("field").GetString());
        Assert.Equal(2, document.RootElement.GetProperty("exitCode").GetInt32());
    }

    [Theory]
    [InlineData("--inputs", "missing")]
    [InlineData("--window", "0")]
    [InlineData("--shards", "0")]
    [InlineData("--shards", "9999")]
    [InlineData("--max-job-memory", "1000000")]
    [InlineData("--output", "no-such-dir")]
    [InlineData("--layout", "spiral")]
    public async Task Run_BadInput_RefusedBeforeAnyClusterStarts(string flag, string value)
    {
        string inputs = PathFor("in.safetensors");
        RandomAttentionInputs.Write(inputs, 600, 4, 2, 32, ElementType.BF16, seed: 3);
        string output = PathFor("out.safetensors");
        string log = PathFor("bad.log");
        string[] args = flag switch
        {
            "--inputs" => ["run", "--inputs", PathFor("missing.safetensors"), "--output", output],
            "--output" => ["run", "--inputs", inputs, "--output", PathFor("no-such-dir/out.safetensors")],
            _ => ["run", "--inputs", inputs, "--output", output, flag, value],
        };

        var clock = Stopwatch.StartNew();
        var run = await CliProcess.RunAsync([.. args, "--log-file", log]);
        double seconds = clock.Elapsed.TotalSeconds;

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains($"error: {flag}", run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output, StringComparison.Ordinal);
        // No cluster was started (it would have opened its log): the answer came from local checks alone.
        Assert.DoesNotContain("embedded cluster", run.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(log), "a cluster was started before the input was checked");
        Assert.False(File.Exists(output));
        // Start-up of the .NET process included; the checks themselves take milliseconds.
        Assert.True(seconds < 2, $"took {seconds:0.00} s");
    }

    [Fact]
    public async Task Gen_BadShape_NamesTheFlagsTyped()
    {
        var gen = await CliProcess.RunAsync("gen", "--output", PathFor("x.safetensors"), "--heads", "8", "--kv-heads", "3");

        Assert.True(gen.ExitCode == 2, gen.ToString());
        Assert.Contains("error: --kv-heads: --kv-heads (3) must divide --heads (8)", gen.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_OffTerminal_OneLinePerStageAndTheOutputRecordsWhatWasComputed()
    {
        string inputs = PathFor("meta-in.safetensors");
        string output = PathFor("meta-out.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", inputs, "--tokens", "900", "--heads", "4", "--kv-heads", "2", "--head-dim", "32", "--dtype", "f16")).ExitCode);

        var run = await CliProcess.RunAsync("run", "--inputs", inputs, "--output", output, "--causal", "--window", "70", "--scale", "0.2",
            "--shards", "3", "--silos", "2", "--layout", "contiguous");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("ring steps: running", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("ring steps: done in", run.Stdout, StringComparison.Ordinal);
        // Nothing that redraws: no carriage returns, no cursor movement.
        Assert.DoesNotContain('\r', run.Stdout);
        Assert.DoesNotContain("\u001b[", run.Stdout, StringComparison.Ordinal);

        using (var file = SafetensorsFile.Open(output))
        {
            var metadata = file.Header.Metadata;
            Assert.Equal("ringattention", metadata[OutputMetadata.ProducerKey]);
            Assert.Equal("causal", metadata[OutputMetadata.MaskKey]);
            Assert.Equal("70", metadata[OutputMetadata.WindowKey]);
            Assert.Equal("0.2", metadata[OutputMetadata.ScaleKey]);
            Assert.Equal("3", metadata[OutputMetadata.ShardsKey]);
            Assert.Equal("contiguous", metadata[OutputMetadata.LayoutKey]);
            Assert.Equal("F16", metadata[OutputMetadata.DTypeKey]);
            Assert.Equal(inputs, metadata[OutputMetadata.InputKey]);
            Assert.Equal(new FileInfo(inputs).Length.ToString(System.Globalization.CultureInfo.InvariantCulture), metadata[OutputMetadata.InputBytesKey]);
            Assert.False(string.IsNullOrEmpty(metadata[OutputMetadata.VersionKey]));
            Assert.StartsWith("job-", metadata[OutputMetadata.JobKey], StringComparison.Ordinal);
        }

        // verify needs no flags: the mask, window, scale and input come from the output's metadata.
        var verify = await CliProcess.RunAsync("verify", "--output", output, "--rows", "40");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.Contains("causal, window 70, scale 0.2", verify.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("warning", verify.Output, StringComparison.Ordinal);

        // A flag that disagrees wins, with a warning; here it is wrong, so the check fails.
        var wrongScale = await CliProcess.RunAsync("verify", "--output", output, "--rows", "40", "--scale", "0.1");
        Assert.True(wrongScale.ExitCode == 4, wrongScale.ToString());
        Assert.Contains("warning: --scale 0.1 disagrees with the output's metadata (0.2)", wrongScale.Output, StringComparison.Ordinal);
    }
}
