using System.ComponentModel;
using RingAttention.Cli.Bench;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Bench;

public sealed class BenchVerifySettings : KernelVariantSettings
{
    [CommandOption("--dir <DIR>")]
    [Description("directory with cases.txt and NAME.in.safetensors (bench/device_verify.py writes them); outputs go beside them")]
    public string? Dir { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Dir) ? ValidationResult.Error("--dir is required") : ValidationResult.Success();
}

/// <summary><c>ringattn bench verify</c>: the GPU kernels against NaN poisoning and the ring path (see <see cref="DeviceCheck"/>).</summary>
public sealed class BenchVerifyCommand : Command<BenchVerifySettings>
{
    public override int Execute(CommandContext context, BenchVerifySettings settings, CancellationToken cancellationToken)
    {
        using var backend = settings.OpenCuda(out string reason);
        AnsiConsole.WriteLine($"backend {reason}; wgmma: {backend.Flash.UseWgmma}; warp-specialized: {backend.Flash.UseWarpSpecialized}");
        int failures = DeviceCheck.Run(backend, Path.GetFullPath(settings.Dir!), Console.Out);
        return failures == 0 ? CliErrors.Ok : CliErrors.VerificationFailed;
    }
}
