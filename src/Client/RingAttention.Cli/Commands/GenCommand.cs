using System.ComponentModel;
using RingAttention.Attention;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class GenSettings : CommandSettings
{
    [CommandOption("--output <PATH>")]
    [Description("safetensors file to write (q, k, v)")]
    public string? Output { get; init; }

    [CommandOption("--tokens <T>")]
    [DefaultValue(4096)]
    public int Tokens { get; init; } = 4096;

    [CommandOption("--heads <HQ>")]
    [DefaultValue(8)]
    public int Heads { get; init; } = 8;

    [CommandOption("--kv-heads <HKV>")]
    [DefaultValue(2)]
    public int KvHeads { get; init; } = 2;

    [CommandOption("--head-dim <D>")]
    [DefaultValue(64)]
    public int HeadDim { get; init; } = 64;

    [CommandOption("--dtype <DTYPE>")]
    [Description("f32, f16 or bf16")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--seed <SEED>")]
    [DefaultValue(1L)]
    public long Seed { get; init; } = 1;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required") : ValidationResult.Success();
}

/// <summary><c>ringattn gen</c>: random inputs (normal, std 1) of a given shape, dtype and seed.</summary>
public sealed class GenCommand : Command<GenSettings>
{
    public override int Execute(CommandContext context, GenSettings settings, CancellationToken cancellationToken)
    {
        var type = LayoutParser.ParseDType(settings.DType);
        new AttentionSpec(settings.Tokens, settings.Heads, settings.KvHeads, settings.HeadDim, type, AttentionMask.None).Validate();
        RandomAttentionInputs.Write(settings.Output!, settings.Tokens, settings.Heads, settings.KvHeads, settings.HeadDim, type, settings.Seed);
        AnsiConsole.WriteLine(
            $"wrote {settings.Output}: q [{settings.Tokens}, {settings.Heads}, {settings.HeadDim}], k and v [{settings.Tokens}, {settings.KvHeads}, {settings.HeadDim}] {type.SafetensorsName()}");
        return CliErrors.Ok;
    }
}
