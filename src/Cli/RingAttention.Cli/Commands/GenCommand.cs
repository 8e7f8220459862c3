using System.ComponentModel;
using RingAttention.Attention;
using RingAttention.Cli.Reports;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class GenSettings : CliSettings
{
    [CommandOption("--output <PATH>")]
    [Description("safetensors file to write (q, k, v)")]
    public string? Output { get; init; }

    [CommandOption("--tokens <T>")]
    [Description("sequence length")]
    [DefaultValue(4096)]
    public int Tokens { get; init; } = 4096;

    [CommandOption("--heads <HQ>")]
    [Description("query heads")]
    [DefaultValue(8)]
    public int Heads { get; init; } = 8;

    [CommandOption("--kv-heads <HKV>")]
    [Description("key/value heads (must divide --heads)")]
    [DefaultValue(2)]
    public int KvHeads { get; init; } = 2;

    [CommandOption("--head-dim <D>")]
    [Description("head dimension")]
    [DefaultValue(64)]
    public int HeadDim { get; init; } = 64;

    [CommandOption("--dtype <DTYPE>")]
    [Description("f32, f16, bf16, or fp8 (E4M3 codes with q_descale, k_descale and v_descale factors)")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--seed <SEED>")]
    [Description("random seed: the same seed and shape give the same file")]
    [DefaultValue(1L)]
    public long Seed { get; init; } = 1;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required") : ValidationResult.Success();
}

/// <summary><c>ringattn gen</c>: random inputs (normal, std 1) of a given shape, dtype and seed.</summary>
public sealed class GenCommand : AsyncCommand<GenSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, GenSettings settings, CancellationToken cancellationToken)
    {
        var type = settings.DType.Trim().ToLowerInvariant() is "fp8" or "f8" or "f8_e4m3" or "e4m3" ? ElementType.F8E4M3 : LayoutParser.ParseDType(settings.DType);
        string output = Path.GetFullPath(settings.Output!);
        await WriteAsync(output, settings.Tokens, settings.Heads, settings.KvHeads, settings.HeadDim, type, settings.Seed);
        AnsiConsole.WriteLine(
            $"wrote {output}: q [{settings.Tokens}, {settings.Heads}, {settings.HeadDim}], k and v [{settings.Tokens}, {settings.KvHeads}, {settings.HeadDim}] {type.SafetensorsName()}");
        CliOutput.Result(new GenReport(output, settings.Tokens, settings.Heads, settings.KvHeads, settings.HeadDim, type.SafetensorsName(), settings.Seed,
            new FileInfo(output).Length), CliJson.Default.GenReport);
        return CliErrors.Ok;
    }

    /// <summary>Validates the shape, then writes the file with progress (it takes seconds from about 32K tokens).</summary>
    public static Task WriteAsync(string path, int tokens, int heads, int kvHeads, int headDim, ElementType type, long seed)
    {
        new AttentionSpec(tokens, heads, kvHeads, headDim, type.ComputeType(), AttentionMask.None).Validate();
        return StageProgress.RunAsync("writing inputs", report => Task.Run(() =>
            RandomAttentionInputs.Write(path, tokens, heads, kvHeads, headDim, type, seed,
                (done, total) => report(new ProgressUpdate(done, total, "writing", $"{done / 1e6:N0} of {total / 1e6:N0} MB")))));
    }
}
