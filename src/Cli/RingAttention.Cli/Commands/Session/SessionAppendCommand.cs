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

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Inputs) ? ValidationResult.Error("--inputs is required") : ValidationResult.Success();
}

/// <summary><c>ringattn session append</c>: rows at the next positions.</summary>
public sealed class SessionAppendCommand : AsyncCommand<SessionAppendSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionAppendSettings settings, CancellationToken cancellationToken)
    {
        string inputs = Path.GetFullPath(settings.Inputs!);
        string? output = settings.Output is null ? null : Path.GetFullPath(settings.Output);
        await using var connection = await settings.ConnectAsync([inputs, output], cancellationToken);
        var status = await connection.Client.GetSession(settings.Id).AppendAsync(new SessionRows { InputPath = inputs, OutputPath = output, Overwrite = settings.Force });
        SessionReport.Print("appended to", status);
        CliOutput.Result(status, CliJson.Default.SessionStatus);
        return CliErrors.Ok;
    }
}
