using System.ComponentModel;
using RingAttention.Attention;
using RingAttention.Cli.Bench;
using RingAttention.Cli.Reports;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Bench;

public sealed class BenchKernelSettings : KernelVariantSettings
{
    [CommandOption("--tokens <LIST>")]
    [Description("sequence lengths, comma-separated")]
    [DefaultValue("4096,16384,32768")]
    public string Tokens { get; init; } = "4096,16384,32768";

    [CommandOption("--heads <LIST>")]
    [Description("query/kv head pairs, comma-separated (32/8 is GQA 4:1)")]
    [DefaultValue("32/32,32/8")]
    public string Heads { get; init; } = "32/32,32/8";

    [CommandOption("--dims <LIST>")]
    [Description("head dims, comma-separated")]
    [DefaultValue("128,64")]
    public string Dims { get; init; } = "128,64";

    [CommandOption("--dtypes <LIST>")]
    [Description("bf16, f16 and/or fp8 (e4m3 with descale factors, Hopper, head dims 128 and 256)")]
    [DefaultValue("bf16,f16")]
    public string DTypes { get; init; } = "bf16,f16";

    [CommandOption("--causal <LIST>")]
    [Description("0 (no mask) and/or 1 (causal)")]
    [DefaultValue("0,1")]
    public string Causal { get; init; } = "0,1";

    [CommandOption("--queries <LIST>")]
    [Description("query rows: the last n tokens' queries against all keys (short query blocks), comma-separated (default: every token's, self-attention)")]
    public string? Queries { get; init; }

    [CommandOption("--reps <N>")]
    [Description("timed launches per shape (the median is reported), after two warm-up launches")]
    [DefaultValue(10)]
    public int Reps { get; init; } = 10;
}

/// <summary>
/// <c>ringattn bench kernel</c>: the local attention kernel alone on the GPU, q/k/v resident (no host transfer in the
/// timed region), TFLOP/s per shape; bench/device_bench.py runs it beside PyTorch SDPA (flash, cuDNN) in one call.
/// </summary>
public sealed class BenchKernelCommand : Command<BenchKernelSettings>
{
    public override int Execute(CommandContext context, BenchKernelSettings settings, CancellationToken cancellationToken)
    {
        var shapes = (from dtype in ListOption.Items(settings.DTypes)
                      from tokens in ListOption.Ints("--tokens", settings.Tokens)
                      from heads in ListOption.Items(settings.Heads)
                      from dim in ListOption.Ints("--dims", settings.Dims)
                      from causal in ListOption.Items(settings.Causal)
                      from queries in settings.Queries is null ? [0] : ListOption.Ints("--queries", settings.Queries)
                      select (Fp8: dtype.Trim().ToLowerInvariant() is "fp8" or "e4m3", Spec: Shape(dtype, tokens, heads, dim, causal), Queries: queries)).ToList();
        foreach (var (fp8, spec, queries) in shapes)
        {
            if (queries > spec.Tokens || (fp8 && queries != 0))
            {
                throw new SpecValidationException("queries", fp8 ? "--queries: fp8 times self-attention only" : $"--queries: {queries} is more than the {spec.Tokens} tokens");
            }
        }

        using var backend = settings.OpenCuda(out string reason);
        AnsiConsole.MarkupLineInterpolated($"[grey]{reason}; timing excludes host transfers (q/k/v resident on the device)[/]");
        var results = new List<KernelTiming>();
        foreach (var (fp8, spec, queries) in shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var timing = fp8 ? Fp8KernelTimer.Time(backend, spec, settings.Reps) : KernelTimer.Time(backend, spec, settings.Reps, queries);
            results.Add(timing);
            string bf16 = timing.Bf16Ms is { } ms ? FormattableString.Invariant($"; bf16 on the same values {ms:0.000} ms, max rel err {timing.Bf16MaxRelErr:0.0e+0}") : string.Empty;
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"{timing.Dtype} T={timing.Tokens}{(timing.QueryRows is int n ? $" n={n}" : "")} {timing.Hq}/{timing.Hkv} d={timing.Dim} causal={(timing.Causal ? 1 : 0)} {timing.Kernel}: {timing.MedianMs:0.000} ms, {timing.Tflops:0.0} TFLOP/s, max rel err {timing.MaxRelErr:0.0e+0}{bf16}"));
        }

        CliOutput.Result(new KernelBenchReport(reason, results), CliJson.Default.KernelBenchReport);
        return CliErrors.Ok;
    }

    /// <summary>The shape; fp8 ones are bfloat16 specs (the type attention computes and writes in), run by <see cref="Fp8KernelTimer"/>.</summary>
    private static AttentionSpec Shape(string dtype, int tokens, string heads, int dim, string causal)
    {
        bool fp8 = dtype.Trim().ToLowerInvariant() is "fp8" or "e4m3";
        var type = fp8 ? ElementType.BF16 : LayoutParser.ParseDType(dtype);
        if (fp8 && dim is not (128 or 256))
        {
            throw new SpecValidationException("dims", $"--dims: fp8 runs at head dims 128 and 256, not {dim}");
        }

        var (hq, hkv) = ListOption.HeadPair(heads);

        if (causal is not ("0" or "1"))
        {
            throw new SpecValidationException("causal", $"--causal: '{causal}' is not 0 or 1");
        }

        return new AttentionSpec(tokens, hq, hkv, dim, type, new AttentionMask(causal == "1", null)).Validate();
    }
}
