using System.ComponentModel;
using RingAttention.Attention;
using RingAttention.Cli.Bench;
using RingAttention.Cli.Reports;
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
    [Description("bf16 and/or f16")]
    [DefaultValue("bf16,f16")]
    public string DTypes { get; init; } = "bf16,f16";

    [CommandOption("--causal <LIST>")]
    [Description("0 (no mask) and/or 1 (causal)")]
    [DefaultValue("0,1")]
    public string Causal { get; init; } = "0,1";

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
                      select Shape(dtype, tokens, heads, dim, causal)).ToList();
        using var backend = settings.OpenCuda(out string reason);
        AnsiConsole.MarkupLineInterpolated($"[grey]{reason}; timing excludes host transfers (q/k/v resident on the device)[/]");
        var results = new List<KernelTiming>();
        foreach (var spec in shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var timing = KernelTimer.Time(backend, spec, settings.Reps);
            results.Add(timing);
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"{timing.Dtype} T={timing.Tokens} {timing.Hq}/{timing.Hkv} d={timing.Dim} causal={(timing.Causal ? 1 : 0)} {timing.Kernel}: {timing.MedianMs:0.000} ms, {timing.Tflops:0.0} TFLOP/s, max rel err {timing.MaxRelErr:0.0e+0}"));
        }

        CliOutput.Result(new KernelBenchReport(reason, results), CliJson.Default.KernelBenchReport);
        return CliErrors.Ok;
    }

    private static AttentionSpec Shape(string dtype, int tokens, string heads, int dim, string causal)
    {
        var type = LayoutParser.ParseDType(dtype);
        var (hq, hkv) = ListOption.HeadPair(heads);

        if (causal is not ("0" or "1"))
        {
            throw new SpecValidationException("causal", $"--causal: '{causal}' is not 0 or 1");
        }

        return new AttentionSpec(tokens, hq, hkv, dim, type, new AttentionMask(causal == "1", null)).Validate();
    }
}
