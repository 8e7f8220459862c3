using System.ComponentModel;
using ILGPU.Runtime.CPU;
using RingAttention.Attention;
using RingAttention.Cli.Bench;
using RingAttention.Cli.Reports;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Bench;

public sealed class BenchDecodeSettings : CliSettings
{
    [CommandOption("--keys <LIST>")]
    [Description("context lengths (keys of one shard), comma-separated")]
    [DefaultValue("131072,1048576")]
    public string Keys { get; init; } = "131072,1048576";

    [CommandOption("--rows <LIST>")]
    [Description("query rows per attend, comma-separated (rows x query heads per kv head at most 8 with the float kernel, 64 with mma alone)")]
    [DefaultValue("1,2")]
    public string Rows { get; init; } = "1,2";

    [CommandOption("--heads <HQ/HKV>")]
    [DefaultValue("32/8")]
    public string Heads { get; init; } = "32/8";

    [CommandOption("--head-dim <D>")]
    [DefaultValue(128)]
    public int HeadDim { get; init; } = 128;

    [CommandOption("--dtype <DTYPE>")]
    [Description("bf16 or f16")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--page-tokens <N>")]
    [Description("tokens per K/V allocation (a session's page size)")]
    [DefaultValue(16384)]
    public int PageTokens { get; init; } = 16384;

    [CommandOption("--shards <N>")]
    [Description("session shards sharing the device: the pages split into N consecutive groups, each its own accumulator, attended in one shared turn")]
    [DefaultValue(1)]
    public int Shards { get; init; } = 1;

    [CommandOption("--kernels <LIST>")]
    [Description("split kernels to time, the first the baseline: float, mma, tiled (Hopper: the warp-specialized kernel over chunk tables)")]
    [DefaultValue("float,mma")]
    public string Kernels { get; init; } = "float,mma";

    [CommandOption("--target-warps <LIST>")]
    [Description("warps a launch aims at (chunks = warps / kv heads, at least 2048 keys each), comma-separated; the first is the backend's own")]
    [DefaultValue("4096")]
    public string TargetWarps { get; init; } = "4096";

    [CommandOption("--reps <N>")]
    [Description("timed attends per shape and kernel (the median is reported), after one warm-up")]
    [DefaultValue(20)]
    public int Reps { get; init; } = 20;

    [CommandOption("--cpu")]
    [Description("ILGPU's CPU accelerator with 32-lane warps instead of the GPU (the mma kernel emulated: slow; for tests)")]
    public bool Cpu { get; init; }

    public override ValidationResult Validate()
    {
        if (Reps < 1)
        {
            return ValidationResult.Error("--reps: must be at least 1");
        }

        if (PageTokens < 1)
        {
            return ValidationResult.Error("--page-tokens: must be at least 1");
        }

        if (Shards < 1)
        {
            return ValidationResult.Error("--shards: must be at least 1");
        }

        return ValidationResult.Success();
    }
}

/// <summary>
/// <c>ringattn bench decode</c>: the split-K decode kernels alone (a session shard's attend without the grains), each
/// on the same paged K/V resident on the device; bench/decode-kernels.sh runs it beside PyTorch SDPA in one call.
/// </summary>
public sealed class BenchDecodeCommand : Command<BenchDecodeSettings>
{
    public override int Execute(CommandContext context, BenchDecodeSettings settings, CancellationToken cancellationToken)
    {
        var type = LayoutParser.ParseDType(settings.DType);
        if (type is not (ElementType.BF16 or ElementType.F16))
        {
            throw new SpecValidationException("dtype", $"--dtype: {settings.DType} is not timed here (the tensor-core kernel takes 16-bit K/V); use bf16 or f16");
        }

        var kernels = ListOption.Items(settings.Kernels).ToList();
        string? unknown = kernels.Count == 0 ? "" : kernels.FirstOrDefault(k => !DecodeTimer.Kernels.Contains(k));
        if (unknown is not null)
        {
            throw new SpecValidationException("kernels", $"--kernels: '{unknown}' is not one of {string.Join(", ", DecodeTimer.Kernels)}");
        }

        var (hq, hkv) = ListOption.HeadPair(settings.Heads);
        var shapes = (from keys in ListOption.Ints("--keys", settings.Keys)
                      from rows in ListOption.Ints("--rows", settings.Rows)
                      select (Spec: new AttentionSpec(keys, hq, hkv, settings.HeadDim, type, AttentionMask.CausalMask).Validate(), Rows: rows)).ToList();
        int most = kernels.Contains("float") ? DecodeKernel.MaxVectors : DecodeMmaKernel.MaxVectors;
        foreach (var (spec, rows) in shapes)
        {
            if ((spec.Tokens + settings.PageTokens - 1) / settings.PageTokens < settings.Shards)
            {
                throw new SpecValidationException("shards", $"--shards: {settings.Shards} shards need at least as many pages; {spec.Tokens} keys in pages of {settings.PageTokens} make {(spec.Tokens + settings.PageTokens - 1) / settings.PageTokens}");
            }

            if (rows < 1 || rows > spec.Tokens || (long)rows * spec.GroupSize > most)
            {
                throw new SpecValidationException("rows", $"--rows: {rows} rows x {spec.GroupSize} query heads per kv head must be 1 to {most} vectors ({DecodeKernel.MaxVectors} with the float kernel), and at most the keys ({spec.Tokens})");
            }
        }

        var targets = ListOption.Ints("--target-warps", settings.TargetWarps);

        using var backend = Open(settings.Cpu, out string device);
        AnsiConsole.MarkupLineInterpolated($"[grey]{device}; each attend = chunk table, split and merge launches, one sync (K/V resident in pages of {settings.PageTokens} tokens)[/]");
        var results = new List<DecodeTiming>();
        foreach (var (spec, rows) in shapes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var t in targets.SelectMany(target => DecodeTimer.Time(backend, spec, rows, settings.PageTokens, kernels, target, settings.Reps, settings.Shards)))
            {
                results.Add(t);
                AnsiConsole.WriteLine(FormattableString.Invariant(
                    $"{t.Dtype} keys={t.Keys} rows={t.Rows} {t.Hq}/{t.Hkv} d={t.Dim} shards={t.Shards} {t.Kernel} ({t.TargetWarps} warps): {t.MedianMs:0.000} ms (min {t.MinMs:0.000}), {t.GBps:0} GB/s; vs {kernels[0]}: max |o diff| {t.MaxOutputDiff:0.0e+0}, max |lse diff| {t.MaxLseDiff:0.0e+0}, finite {t.Finite}"));
            }
        }

        CliOutput.Result(new DecodeBenchReport(device, results), CliJson.Default.DecodeBenchReport);
        return results.All(r => r.Finite) ? CliErrors.Ok : CliErrors.VerificationFailed;
    }

    private static IlgpuAttentionBackend Open(bool cpu, out string device)
    {
        if (cpu)
        {
            var backend = PortableAttentionBackend.CreateCpuSet(1, CPUDeviceKind.Nvidia)[0];
            backend.UseDecodeMma = true;
            device = "ILGPU CPU accelerator (32-lane warps)";
            return backend;
        }

        if (!GpuBackends.TryCreateCuda(out var created, out string reason) || created is not CudaAttentionBackend cuda)
        {
            created?.Dispose();
            throw new SpecValidationException("device", $"this command needs a CUDA GPU (or --cpu): {reason}");
        }

        device = reason;
        return cuda;
    }
}
