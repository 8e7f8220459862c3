using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Spectre.Console;

namespace RingAttention.Cli;

/// <summary>
/// Where the CLI's output goes. Normally everything is for a human on stdout. With <c>--json</c>, stdout carries one
/// JSON document and nothing else: every other writer, ours and any library's, is pointed at stderr before a command runs.
/// </summary>
public static class CliOutput
{
    private static TextWriter? _json;

    public static bool Json => _json is not null;

    /// <summary>Whether a person is watching (progress bars) or the output goes to a file or pipe (one line per stage).</summary>
    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Called once, before parsing, from the raw arguments: a parse error must already honour --json.</summary>
    public static void Configure(IReadOnlyList<string> args)
    {
        bool json = args.Contains("--json");
        if (json)
        {
            _json = Console.Out;
            Console.SetOut(Console.Error);
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        }

        // Into a file or a pipe, a message is one line however long: wrapping at 80 columns splits what grep looks for.
        if (json ? Console.IsErrorRedirected : Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = UnwrappedWidth;
        }
    }

    private const int UnwrappedWidth = 4096;

    /// <summary>The command's result: as JSON on stdout with --json, else nothing (the human output was printed as it came).</summary>
    public static void Result<T>(T value, JsonTypeInfo<T> type)
    {
        if (_json is not null)
        {
            _json.WriteLine(JsonSerializer.Serialize(value, type));
            _json.Flush();
        }
    }

    /// <summary>Human output that only makes sense without --json (tables, the "wrote" line).</summary>
    public static void Human(Action print)
    {
        if (_json is null)
        {
            print();
        }
    }
}
