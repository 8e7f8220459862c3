using System.Text.RegularExpressions;

namespace RingAttention.Deploy.Tests;

/// <summary>
/// Every shell block of the README names what runs it (<c>&lt;!-- run by: ... --&gt;</c> on the line before), and the
/// newcomer's blocks are run here exactly as written, in order, on a copy of the repository (as after `git clone`;
/// the copy <see cref="ReleaseTests"/> publishes in, so that the libraries compile once for both).
/// </summary>
[Collection(RepositoryCopyCollection.Name)]
public sealed partial class ReadmeTests(RepositoryCopy copy)
{
    private const string Newcomer = "ReadmeTests.NewcomerPath_RunsAsWritten";

    [Fact]
    public void EveryBashBlock_NamesATestOrRunThatExists()
    {
        var blocks = Blocks(Repo.ReadText("README.md"));
        Assert.NotEmpty(blocks);
        string tests = string.Join('\n', Directory.EnumerateFiles(Repo.PathOf("tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains("/obj/", StringComparison.Ordinal) && !f.Contains("/bin/", StringComparison.Ordinal))
            .Select(f => $"{Path.GetFileNameWithoutExtension(f)}\n{File.ReadAllText(f)}"));
        foreach (var (runBy, text) in blocks)
        {
            Assert.False(runBy is null, $"a README bash block does not say what runs it:\n{text}");
            if (runBy == ".ci/run")
            {
                // .ci/run runs the README's command with a results logger appended.
                Assert.Contains(text.Trim() + " ", Repo.ReadText(".ci/run"), StringComparison.Ordinal);
            }
            else if (runBy.StartsWith("device (", StringComparison.Ordinal))
            {
                string results = runBy["device (".Length..runBy.IndexOf(')', StringComparison.Ordinal)];
                Assert.True(File.Exists(Repo.PathOf(results)), $"{results}, the record of the device run, is missing");
            }
            else
            {
                var name = TestName().Match(runBy);
                Assert.True(name.Success, $"'{runBy}' is not a test name");
                Assert.Contains($"class {name.Groups[1].Value}", tests, StringComparison.Ordinal);
                if (name.Groups[2].Success)
                {
                    Assert.Contains($" {name.Groups[2].Value}(", tests, StringComparison.Ordinal);
                }
            }
        }
    }

    [SkippableFact]
    public void NewcomerPath_RunsAsWritten()
    {
        Skip.If(Tools.FindOnPath("dotnet") is null, "dotnet is not on PATH");
        var script = Blocks(Repo.ReadText("README.md")).Where(b => b.RunBy == Newcomer).Select(b => b.Text).ToList();
        Assert.True(script.Count >= 3, "the README's newcomer blocks are not marked");
        string home = Directory.CreateDirectory(Path.Combine(copy.Root, ".readme-home")).FullName;

        var run = Tools.Run("bash", ["-euo", "pipefail", "-c", string.Join('\n', script)], copy.Root, TimeSpan.FromMinutes(10), environment =>
        {
            // `dotnet tool install --global` goes to $DOTNET_CLI_HOME/.dotnet/tools, not the user's own.
            environment["DOTNET_CLI_HOME"] = home;
            environment["PATH"] = $"{Path.Combine(home, ".dotnet", "tools")}:{environment["PATH"]}";
            Tools.WithoutAnalyzers(environment);
        });

        Assert.True(run.ExitCode == 0, run.Describe("the README's commands"));
        // Two demos (dotnet run, then the installed tool) and the verify of the user's own run.
        Assert.Equal(3, Regex.Count(run.StdOut, "verification passed"));
        Assert.True(File.Exists(Path.Combine(copy.Root, "out.safetensors")));
        Assert.Contains("--kv-heads", Tools.Run(Path.Combine(home, ".dotnet", "tools", "ringattn"), ["gen", "--help"], copy.Root, TimeSpan.FromMinutes(1)).StdOut,
            StringComparison.Ordinal);
    }

    /// <summary>The ```bash blocks, each with the "run by" of the line before it (or null).</summary>
    private static List<(string? RunBy, string Text)> Blocks(string readme)
    {
        var blocks = new List<(string?, string)>();
        string[] lines = readme.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```bash")
            {
                continue;
            }

            var marker = i > 0 ? RunBy().Match(lines[i - 1]) : Match.Empty;
            int end = Array.FindIndex(lines, i + 1, l => l.Trim() == "```");
            blocks.Add((marker.Success ? marker.Groups[1].Value.Trim() : null, string.Join('\n', lines[(i + 1)..end])));
            i = end;
        }

        return blocks;
    }

    [GeneratedRegex(@"^<!-- run by: (.+?) -->$")]
    private static partial Regex RunBy();

    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")]
    private static partial Regex TestName();
}
