using System.ComponentModel;
using Spectre.Console.Cli;

namespace RingAttention.Cli;

/// <summary>Options every command takes: where its output and the framework's logs go.</summary>
public class CliSettings : CommandSettings
{
    [CommandOption("--json")]
    [Description("print one JSON document on stdout and nothing else (progress and messages go to stderr)")]
    public bool Json { get; init; }

    [CommandOption("--verbose")]
    [Description("also show the framework's (Orleans') logs, from Information up, on stderr")]
    public bool Verbose { get; init; }

    [CommandOption("--log-file <PATH>")]
    [Description("write the framework's logs here (default: a new file under ~/.local/state/ringattn/logs, named once per run)")]
    public string? LogFile { get; init; }
}
