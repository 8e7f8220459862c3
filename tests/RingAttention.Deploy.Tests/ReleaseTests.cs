using System.Text.Json;

namespace RingAttention.Deploy.Tests;

/// <summary>
/// scripts/release.sh builds one trimmed, self-contained `ringattn`; trimming must keep what Spectre.Console.Cli,
/// Orleans and ILGPU reach by reflection, so the binary is run end to end: the commands, the JSON output
/// (source-generated), an embedded cluster, and the ILGPU kernels (on ILGPU's CPU accelerator).
/// Built from a copy of the tree: a RID-specific publish must not rewrite the outputs other tests are running. The copy
/// is the README's too (<see cref="ReadmeTests"/>): the libraries build RID-agnostic, so whichever test runs second
/// compiles only the CLI project again.
/// </summary>
[Collection(RepositoryCopyCollection.Name)]
public sealed class ReleaseTests(RepositoryCopy copy) : IDisposable
{
    /// <summary>The device tool carries at most 64 MiB; the binary must leave room for inputs and the PyTorch oracle.</summary>
    private const long MaxBytes = 40L << 20;

    private readonly string _work = Directory.CreateTempSubdirectory("ringattention-release-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public void ReleaseScript_TrimmedSingleFile_RunsEveryCommandWithoutDotnet()
    {
        Skip.If(Tools.FindOnPath("dotnet") is null || Tools.FindOnPath("git") is null, "dotnet and git are needed to build the release");
        string tree = copy.Root;
        string output = Path.Combine(_work, "out");
        var release = Tools.Run("bash", [Path.Combine(tree, "scripts/release.sh"), output], tree, TimeSpan.FromMinutes(8), Tools.WithoutAnalyzers);
        Assert.True(release.ExitCode == 0, release.Describe("release.sh"));
        string binary = Path.Combine(output, "ringattn");
        Assert.True(new FileInfo(binary).Length < MaxBytes, $"{binary} is {new FileInfo(binary).Length >> 20} MiB");
        Assert.Single(Directory.GetFiles(output), f => !f.EndsWith(".json", StringComparison.Ordinal));

        string data = Directory.CreateDirectory(Path.Combine(_work, "data")).FullName;
        // No dotnet on PATH for the binary: it must carry its runtime.
        void Isolated(IDictionary<string, string?> environment)
        {
            environment["PATH"] = "/usr/bin:/bin";
            environment["DOTNET_ROOT"] = null;
        }

        JsonElement Json(params string[] args)
        {
            var run = Tools.Run(binary, [.. args, "--json"], data, TimeSpan.FromMinutes(3), Isolated);
            Assert.True(run.ExitCode == 0, run.Describe(string.Join(' ', args)));
            return JsonDocument.Parse(run.StdOut).RootElement.Clone();
        }

        var help = Tools.Run(binary, ["run", "--help"], data, TimeSpan.FromMinutes(1), Isolated);
        Assert.True(help.ExitCode == 0 && help.StdOut.Contains("--inputs", StringComparison.Ordinal), help.Describe("run --help"));
        Assert.Equal(700, Json("gen", "--output", "q.safetensors", "--tokens", "700", "--heads", "4", "--kv-heads", "2", "--head-dim", "32").GetProperty("tokens").GetInt32());
        var run = Json("run", "--inputs", "q.safetensors", "--output", "o.safetensors", "--causal", "--shards", "3", "--silos", "2");
        Assert.Equal(700, run.GetProperty("job").GetProperty("tokens").GetInt32());
        Assert.True(Json("verify", "--output", "o.safetensors").GetProperty("passed").GetBoolean());
        var gpuPath = Json("demo", "--tokens", "512", "--shards", "2", "--silos", "2", "--device", "ilgpu-cpu");
        Assert.True(gpuPath.GetProperty("verification").GetProperty("passed").GetBoolean());
        var typo = Tools.Run(binary, ["run", "--casual"], data, TimeSpan.FromMinutes(1), Isolated);
        Assert.True(typo.ExitCode == 2 && typo.StdOut.Contains("Did you mean --causal?", StringComparison.Ordinal), typo.Describe("run --casual"));
    }
}
