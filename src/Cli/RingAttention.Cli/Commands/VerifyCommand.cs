using System.ComponentModel;
using RingAttention.Attention;
using RingAttention.Cli.Reports;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class VerifySettings : CliSettings
{
    [CommandOption("--inputs <PATH>")]
    [Description("the q/k/v safetensors file the output was computed from (default: the input named in the output's metadata)")]
    public string? Inputs { get; init; }

    [CommandOption("--output <PATH>")]
    [Description("the output to check (o and lse)")]
    public string? Output { get; init; }

    [CommandOption("--causal")]
    [Description("causal mask (default: as the output's metadata records; --causal false checks it as non-causal)")]
    public bool? Causal { get; init; }

    [CommandOption("--window <N>")]
    [Description("sliding window width (default: as the output's metadata records)")]
    public int? Window { get; init; }

    [CommandOption("--scale <S>")]
    [Description("softmax scale (default: as the output's metadata records, else 1/sqrt(head dim))")]
    public float? Scale { get; init; }

    [CommandOption("--rows <N>")]
    [Description("query tokens to check, every head of each")]
    [DefaultValue(64)]
    public int Rows { get; init; } = 64;

    [CommandOption("--seed <SEED>")]
    [Description("seed of the sampled rows (the first and last token are always checked)")]
    [DefaultValue(1)]
    public int Seed { get; init; } = 1;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required")
        : Rows < 1 ? ValidationResult.Error($"--rows ({Rows}) must be at least 1")
        : ValidationResult.Success();
}

/// <summary>
/// <c>ringattn verify</c>: float64 check of sampled rows; exit code 4 when it fails. What to check against (mask,
/// window, scale, input file) defaults to what the output's metadata records; flags that disagree win, with a warning.
/// </summary>
public sealed class VerifyCommand : AsyncCommand<VerifySettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, VerifySettings settings, CancellationToken cancellationToken)
    {
        string output = Path.GetFullPath(settings.Output!);
        OutputMetadata.Computed? recorded;
        bool? linearCausal;
        using (var file = SafetensorsFile.Open(output, "output"))
        {
            recorded = OutputMetadata.Read(file.Header.Metadata);
            linearCausal = LinearOutputVerifier.Options(file.Header.Metadata)?.Causal;
        }

        if (linearCausal is bool causalLinear)
        {
            return await CheckLinearAsync(settings, recorded, causalLinear, cancellationToken);
        }

        if (recorded is null)
        {
            AnsiConsole.MarkupLine("[yellow]warning:[/] the output has no RingAttention metadata; checking with the flags given (default: no mask, 1/sqrt(head dim))");
        }

        string inputs = settings.Inputs is string given ? Path.GetFullPath(given)
            : recorded?.Input ?? throw new SpecValidationException("inputs", "--inputs is required: the output does not name its input");
        bool causal = Pick("--causal", settings.Causal, recorded is not null, recorded?.Causal) ?? false;
        int? window = Pick("--window", settings.Window, recorded is not null, recorded?.Window);
        float? scale = Pick("--scale", settings.Scale, recorded is not null, recorded?.Scale);
        if (settings.Inputs is not null && recorded?.Input is string input && input != inputs)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] --inputs {inputs} is not the input the output records ({input})");
        }

        // The queries of a job that attended with its own queries file are checked from that file, at its positions.
        var summary = await CheckAsync(inputs, output, causal, window, scale, settings.Rows, settings.Seed, cancellationToken, recorded?.Queries, recorded?.QueryOffset);
        CliOutput.Result(summary, CliJson.Default.VerificationSummary);
        return summary.Passed ? CliErrors.Ok : CliErrors.VerificationFailed;
    }

    /// <summary>A linear-attention output: its options come from its metadata (flags for softmax attention do not apply).</summary>
    private static async Task<int> CheckLinearAsync(VerifySettings settings, OutputMetadata.Computed? recorded, bool causal, CancellationToken ct)
    {
        if (settings.Window is not null || settings.Scale is not null)
        {
            throw new SpecValidationException(settings.Window is not null ? "window" : "scale", "a linear-attention output has no window or softmax scale to check with");
        }

        string output = Path.GetFullPath(settings.Output!);
        string inputs = settings.Inputs is string given ? Path.GetFullPath(given)
            : recorded?.Input ?? throw new SpecValidationException("inputs", "--inputs is required: the output does not name its input");
        var report = await StageProgress.RunAsync("float64 check", update => Task.Run(() =>
            LinearOutputVerifier.Verify(inputs, output, settings.Rows, settings.Seed,
                (done, total) => update(new ProgressUpdate(done, total, "streaming keys", $"{done:N0} of {total:N0}"))), ct));
        AnsiConsole.MarkupLineInterpolated(
            $"checked {report.RowsChecked} tokens x {report.Heads} heads ({report.DType}, linear attention, {(causal ? "causal" : "no mask")}) against the float64 recurrence: max |o - ref| / max|ref| = {report.MaxOutputError:E2} (limit {report.Tolerance.Output:E1})");
        AnsiConsole.MarkupLine(report.Passed ? "[green]verification passed[/]" : $"[red]verification failed:[/] {Markup.Escape(report.Failure!)}");
        var summary = VerificationSummary.From(report, causal, null, null);
        CliOutput.Result(summary, CliJson.Default.VerificationSummary);
        return summary.Passed ? CliErrors.Ok : CliErrors.VerificationFailed;
    }

    /// <summary>The flag when given (with a warning when it contradicts the record), else the record.</summary>
    private static T? Pick<T>(string flag, T? given, bool hasRecord, T? recorded) where T : struct
    {
        if (given is null)
        {
            return recorded;
        }

        if (hasRecord && !Nullable.Equals(given, recorded))
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[yellow]warning:[/] {flag} {given} disagrees with the output's metadata ({recorded?.ToString() ?? "none"}); checking with {given}");
        }

        return given;
    }

    /// <summary>Runs the check with progress and prints its outcome.</summary>
    public static async Task<VerificationSummary> CheckAsync(
        string inputs, string output, bool causal, int? window, float? scale, int rows, int seed, CancellationToken ct,
        string? queries = null, int? queryOffset = null)
    {
        var report = await StageProgress.RunAsync("float64 check", update => Task.Run(() =>
            OutputVerifier.Verify(inputs, output, new AttentionMask(causal, window), scale, rows, seed,
                (done, total) => update(new ProgressUpdate(done, total, "streaming keys", $"{done:N0} of {total:N0}")), queries, queryOffset), ct));
        string mask = (causal ? "causal" : "no mask") + (window is int w ? $", window {w}" : "") + (scale is float s ? $", scale {s}" : "");
        AnsiConsole.MarkupLineInterpolated(
            $"checked {report.RowsChecked} tokens x {report.Heads} heads ({report.DType}, {mask}) against a float64 reference: max |o - ref| / max|v| = {report.MaxOutputError:E2} (limit {report.Tolerance.Output:E1}), max |lse - ref| = {report.MaxLseError:E2}");
        if (report.Passed)
        {
            AnsiConsole.MarkupLine("[green]verification passed[/]");
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"[red]verification failed:[/] {report.Failure}");
        }

        return VerificationSummary.From(report, causal, window, scale);
    }
}
