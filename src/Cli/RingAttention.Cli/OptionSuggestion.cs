using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console.Cli;

namespace RingAttention.Cli;

/// <summary>"did you mean --causal?" for an unknown option: the known option of the command nearest in edit distance.</summary>
public static partial class OptionSuggestion
{
    /// <summary>A switch, not a dictionary of types: the trimmer must see which settings types keep their properties.</summary>
    [return: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)]
    private static Type? SettingsOf(IReadOnlyList<string> args) => (args.Count > 0 ? args[0] : "", args.Count > 1 ? args[1] : "") switch
    {
        ("run", _) => typeof(Commands.RunSettings),
        ("gen", _) => typeof(Commands.GenSettings),
        ("verify", _) => typeof(Commands.VerifySettings),
        ("demo", _) => typeof(Commands.DemoSettings),
        ("bench", "kernel") => typeof(Commands.Bench.BenchKernelSettings),
        ("bench", "ring") => typeof(Commands.Bench.BenchRingSettings),
        ("bench", "verify") => typeof(Commands.Bench.BenchVerifySettings),
        _ => null,
    };

    /// <summary>The hint to append to Spectre's "Unknown option 'x'." message, or "" when nothing is close.</summary>
    public static string For(string message, IReadOnlyList<string> args)
    {
        if (UnknownOption().Match(message) is not { Success: true } match || SettingsOf(args) is not { } settings)
        {
            return "";
        }

        string unknown = match.Groups[1].Value;
        var known = settings.GetProperties()
            .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
            .OfType<CommandOptionAttribute>()
            .SelectMany(o => o.LongNames)
            .ToList();
        var best = known.Select(name => (Name: name, Distance: Distance(unknown, name))).MinBy(c => c.Distance);
        return best.Name is not null && best.Distance <= Math.Max(2, unknown.Length / 3) ? $" Did you mean --{best.Name}?" : "";
    }

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    [GeneratedRegex("Unknown option '([^']+)'")]
    private static partial Regex UnknownOption();
}
