using System.ComponentModel;
using RingAttention.Client.Verification;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class VerifySettings : CommandSettings
{
    [CommandOption("--inputs <PATH>")]
    public string? Inputs { get; init; }

    [CommandOption("--output <PATH>")]
    public string? Output { get; init; }

    [CommandOption("--causal")]
    public bool Causal { get; init; }

    [CommandOption("--window <N>")]
    public int? Window { get; init; }

    [CommandOption("--scale <S>")]
    public float? Scale { get; init; }

    [CommandOption("--rows <N>")]
    [Description("query tokens to check, every head of each (default 64)")]
    [DefaultValue(64)]
    public int Rows { get; init; } = 64;

    [CommandOption("--seed <SEED>")]
    [DefaultValue(1)]
    public int Seed { get; init; } = 1;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Inputs) ? ValidationResult.Error("--inputs is required")
        : string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required")
        : Rows < 1 ? ValidationResult.Error($"--rows ({Rows}) must be at least 1")
        : ValidationResult.Success();
}

/// <summary><c>ringattn verify</c>: float64 check of sampled rows; exit code 4 when it fails.</summary>
public sealed class VerifyCommand : Command<VerifySettings>
{
    public override int Execute(CommandContext context, VerifySettings settings, CancellationToken cancellationToken)
    {
        var report = OutputVerifier.Verify(settings.Inputs!, settings.Output!, new(settings.Causal, settings.Window), settings.Scale, settings.Rows, settings.Seed);
        return VerificationView.Print(report);
    }
}
