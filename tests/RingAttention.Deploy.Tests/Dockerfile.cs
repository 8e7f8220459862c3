using System.Text.RegularExpressions;

namespace RingAttention.Deploy.Tests;

/// <summary>One instruction of a Dockerfile, continuation lines joined.</summary>
internal sealed record Instruction(string Keyword, string Arguments);

/// <summary>One build stage: FROM image [AS name] and what follows it.</summary>
internal sealed record Stage(string Image, string? Name, IReadOnlyList<Instruction> Instructions)
{
    public IEnumerable<string> All(string keyword) =>
        Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);
}

/// <summary>A small Dockerfile reader: enough to check what our two Dockerfiles build and how they run.</summary>
internal sealed partial class Dockerfile
{
    public static readonly string[] Paths = ["deploy/Dockerfile.cpu", "deploy/Dockerfile.cuda"];

    public static IEnumerable<Dockerfile> All => Paths.Select(Load);

    public static Dockerfile Load(string relativePath) => new(relativePath, Repo.ReadText(relativePath));

    public string Path { get; }

    public IReadOnlyList<Stage> Stages { get; }

    public Stage Final => Stages[^1];

    public Stage BuildStage => Stages.Single(s => s.All("RUN").Any(r => r.Contains("dotnet publish", StringComparison.Ordinal)));

    /// <summary>The last USER of the final stage: the user the container runs as.</summary>
    public string? FinalUser => Final.All("USER").LastOrDefault()?.Trim();

    /// <summary>The `dotnet publish ...` command line of the build stage, as words.</summary>
    public IReadOnlyList<string> PublishCommand
    {
        get
        {
            var run = BuildStage.All("RUN").Single(r => r.Contains("dotnet publish", StringComparison.Ordinal));
            var command = run[run.IndexOf("dotnet publish", StringComparison.Ordinal)..];
            var end = command.IndexOfAny(['&', ';', '|']);
            if (end >= 0)
            {
                command = command[..end];
            }

            return command.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        }
    }

    private Dockerfile(string path, string text)
    {
        Path = path;
        var globalArgs = new Dictionary<string, string>();
        var stages = new List<Stage>();
        string? image = null;
        string? name = null;
        var current = new List<Instruction>();
        foreach (var instruction in Instructions(text))
        {
            if (instruction.Keyword == "FROM")
            {
                if (image is not null)
                {
                    stages.Add(new Stage(image, name, current));
                }

                var words = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                    .Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
                image = ArgReference().Replace(words[0], m => globalArgs.GetValueOrDefault(m.Groups[1].Value + m.Groups[2].Value, m.Value));
                name = words.Length >= 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null;
                current = [];
            }
            else if (image is null && instruction.Keyword == "ARG")
            {
                var parts = instruction.Arguments.Split('=', 2);
                globalArgs[parts[0].Trim()] = parts.Length == 2 ? parts[1].Trim() : "";
            }
            else
            {
                current.Add(instruction);
            }
        }

        if (image is not null)
        {
            stages.Add(new Stage(image, name, current));
        }

        Stages = stages;
    }

    private static IEnumerable<Instruction> Instructions(string text)
    {
        var pending = "";
        foreach (var raw in text.Replace("\r\n", "\n").Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && pending.Length == 0))
            {
                continue; // comments (and parser directives) never continue an instruction
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var whole = (pending + line).Trim();
            pending = "";
            if (whole.Length == 0)
            {
                continue;
            }

            var space = whole.IndexOfAny([' ', '\t']);
            yield return space < 0
                ? new Instruction(whole.ToUpperInvariant(), "")
                : new Instruction(whole[..space].ToUpperInvariant(), whole[(space + 1)..].Trim());
        }
    }

    [GeneratedRegex(@"\$\{(\w+)\}|\$(\w+)")]
    private static partial Regex ArgReference();

    public override string ToString() => Path;
}
