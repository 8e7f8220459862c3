using System.ComponentModel;
using RingAttention.Cli.Reports;
using RingAttention.Contracts.Sessions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

public sealed class SessionAppendSettings : SessionSettings
{
    [CommandOption("--inputs <PATH>")]
    [Description("safetensors file with the new rows' k and v [[n, Hkv, D]], optionally their q [[n, Hq, D]] (chunked prefill)")]
    public string? Inputs { get; init; }

    [CommandOption("--output <PATH>")]
    [Description("with q in the file: write the new rows' o [[n, Hq, D]] and lse [[Hq, n]] (against everything cached) here")]
    public string? Output { get; init; }

    [CommandOption("--force")]
    [Description("replace an existing output file that RingAttention did not write")]
    public bool Force { get; init; }

    [CommandOption("--repeat <N>")]
    [Description("benchmark: append the file's rows N times in one process (the context grows by n rows each time) and print the median timings of the appends after the first; default 1")]
    public int Repeat { get; init; } = 1;

    [CommandOption("--timeline")]
    [Description("print where the last append's time went: the durable copy, the page fills, reading q, the prefill's attends (each shard, the device turn) and writing the output (embedded cluster only: its silo runs in this process)")]
    public bool Timeline { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Inputs) ? ValidationResult.Error("--inputs is required")
        : Timeline && !string.IsNullOrWhiteSpace(Cluster) ? ValidationResult.Error("--timeline records this process's activities, so it needs the embedded cluster (no --cluster)")
        : Repeat is < 1 or > 1000 ? ValidationResult.Error($"--repeat must be between 1 and 1000 but is {Repeat}")
        : ValidationResult.Success();
}

/// <summary><c>ringattn session append</c>: rows at the next positions.</summary>
public sealed class SessionAppendCommand : AsyncCommand<SessionAppendSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionAppendSettings settings, CancellationToken cancellationToken)
    {
        string inputs = Path.GetFullPath(settings.Inputs!);
        string? output = settings.Output is null ? null : Path.GetFullPath(settings.Output);
        using var timeline = settings.Timeline ? new SessionTimeline() : null;
        await using var connection = await settings.ConnectAsync([inputs, output], cancellationToken);
        var session = connection.Client.GetSession(settings.Id);
        var status = await session.AppendAsync(new SessionRows { InputPath = inputs, OutputPath = output, Overwrite = settings.Force });
        var timings = new List<SessionStatus> { status };
        for (int run = 2; run <= settings.Repeat && status.Error is null; run++)
        {
            // Each repeat writes the same output again (RingAttention wrote it, so it may replace it).
            status = await session.AppendAsync(new SessionRows { InputPath = inputs, OutputPath = output, Overwrite = settings.Force });
            timings.Add(status);
        }

        SessionReport.Print("appended to", status);
        if (timings.Count > 1)
        {
            SessionReport.PrintRepeats("append", timings);
        }

        if (timeline is not null)
        {
            CliOutput.Human(() => timeline.Last("append").ToList().ForEach(line => AnsiConsole.WriteLine(line)));
        }

        CliOutput.Result(status, CliJson.Default.SessionStatus);
        return CliErrors.Ok;
    }
}
