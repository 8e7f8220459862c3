using System.ComponentModel;
using RingAttention.Cli.Reports;
using RingAttention.Contracts.Sessions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

public sealed class SessionCreateSettings : SessionSettings
{
    [CommandOption("--inputs <PATH>")]
    [Description("safetensors file with k and v [[T, Hkv, D]] (F32, F16, BF16 or F8_E4M3 with descale factors), optionally q [[T, Hq, D]]")]
    public string? Inputs { get; init; }

    [CommandOption("--heads <H>")]
    [Description("query heads, when the file has no q (later queries have this many)")]
    public int? Heads { get; init; }

    [CommandOption("--shards <R>")]
    [Description("shards (devices) the K/V is spread over")]
    [DefaultValue(4)]
    public int Shards { get; init; } = 4;

    [CommandOption("--causal")]
    [Description("causal mask: a query at position p sees keys <= p")]
    public bool Causal { get; init; }

    [CommandOption("--window <N>")]
    [Description("sliding window width, relative to each query's position")]
    public int? Window { get; init; }

    [CommandOption("--scale <S>")]
    [Description("softmax scale (default 1/sqrt(head dim))")]
    public float? Scale { get; init; }

    [CommandOption("--page-tokens <N>")]
    [Description("tokens per K/V page (16 to 65536)")]
    [DefaultValue(256)]
    public int PageTokens { get; init; } = 256;

    [CommandOption("--output <PATH>")]
    [Description("with q in the file: write the prefill's o [[T, Hq, D]] and lse [[Hq, T]] here")]
    public string? Output { get; init; }

    [CommandOption("--force")]
    [Description("replace an existing output file that RingAttention did not write")]
    public bool Force { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Inputs) ? ValidationResult.Error("--inputs is required") : ValidationResult.Success();
}

/// <summary><c>ringattn session create</c>: K/V of a context into pages on the cluster's devices.</summary>
public sealed class SessionCreateCommand : AsyncCommand<SessionCreateSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionCreateSettings settings, CancellationToken cancellationToken)
    {
        string inputs = Path.GetFullPath(settings.Inputs!);
        string? output = settings.Output is null ? null : Path.GetFullPath(settings.Output);
        await using var connection = await settings.ConnectAsync([inputs, output], cancellationToken);
        var (_, status) = await connection.Client.CreateSessionAsync(settings.Id, new SessionSpec
        {
            InputPath = inputs,
            Heads = settings.Heads ?? 0,
            Shards = settings.Shards,
            Causal = settings.Causal,
            Window = settings.Window,
            Scale = settings.Scale,
            PageTokens = settings.PageTokens,
            OutputPath = output,
            Overwrite = settings.Force,
        });
        SessionReport.Print("created", status);
        CliOutput.Result(status, CliJson.Default.SessionStatus);
        return CliErrors.Ok;
    }
}
