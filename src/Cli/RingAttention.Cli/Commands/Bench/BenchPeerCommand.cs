using System.ComponentModel;
using System.Diagnostics;
using RingAttention.Attention;
using RingAttention.Cli.Bench;
using RingAttention.Cli.Reports;
using RingAttention.Grains.Devices;
using RingAttention.Silo.Hosting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Bench;

public sealed class BenchPeerSettings : CliSettings
{
    [CommandOption("--device <DEVICES>")]
    [Description("the devices to copy between, as Silo:Device (default cuda: every GPU of the host; ilgpu-cpu:2 without a GPU)")]
    [DefaultValue("cuda")]
    public string Device { get; init; } = "cuda";

    [CommandOption("--mib <LIST>")]
    [Description("block sizes in MiB, comma-separated (a 1M-token shard of 8 K/V heads at d 128 in bf16 is 512 MiB per 128K tokens)")]
    [DefaultValue("64,256,1024")]
    public string Mib { get; init; } = "64,256,1024";

    [CommandOption("--reps <N>")]
    [Description("timed copies per size and direction (the median is reported), after one warm-up copy")]
    [DefaultValue(10)]
    public int Reps { get; init; } = 10;

    public override ValidationResult Validate() =>
        Reps < 1 ? ValidationResult.Error($"--reps ({Reps}) must be at least 1")
        : !DeviceSelection.IsKnown(Device) ? ValidationResult.Error($"--device: '{Device}' is not one of {string.Join(", ", DeviceSelection.Names)}")
        : base.Validate();
}

/// <summary>
/// <c>ringattn bench peer</c>: the K/V hand-off between two devices of one silo, timed as the ring does it (the
/// receiving device's copy lane, device to device where peer access is on, else staged through host memory).
/// bench/multi-gpu.sh runs it beside torch's <c>b.copy_(a)</c> across the same two GPUs.
/// </summary>
public sealed class BenchPeerCommand : AsyncCommand<BenchPeerSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, BenchPeerSettings settings, CancellationToken cancellationToken)
    {
        var sizes = ListOption.Ints("--mib", settings.Mib);
        var (devices, reason) = DeviceSelection.Select(settings.Device, Environment.ProcessorCount);
        using (devices)
        {
            if (devices.Count < 2)
            {
                throw new SpecValidationException("device", $"--device: {settings.Device} gives {devices.Count} device; a hand-off needs two");
            }

            AnsiConsole.MarkupLineInterpolated($"[grey]{reason}[/]");
            var results = new List<PeerTiming>();
            foreach (int mib in sizes)
            {
                foreach (var (from, to) in new[] { (devices[0], devices[1]), (devices[1], devices[0]) })
                {
                    var timing = await TimeAsync(from, to, mib, settings.Reps, cancellationToken);
                    results.Add(timing);
                    AnsiConsole.WriteLine(FormattableString.Invariant(
                        $"{timing.From} -> {timing.To} {mib} MiB: {timing.MedianMs:0.000} ms, {timing.Gbps:0.0} GB/s{(timing.Staged ? " (staged through host memory)" : string.Empty)}"));
                }
            }

            CliOutput.Result(new PeerBenchReport(reason, results), CliJson.Default.PeerBenchReport);
            return CliErrors.Ok;
        }
    }

    private static async Task<PeerTiming> TimeAsync(ComputeDevice from, ComputeDevice to, int mib, int reps, CancellationToken ct)
    {
        // A K/V block of mib MiB: 8 kv heads x d 128 in bf16 is 4 KiB per token (K and V).
        int rows = (int)((long)mib * (1 << 20) / (2 * 8 * 128 * 2));
        TokenSpan[] spans = [new(0, rows)];
        using var source = await from.AllocateKeyValuesAsync(Tensors.ElementType.BF16, 8, 128, spans, ct);
        using var target = await to.AllocateKeyValuesAsync(Tensors.ElementType.BF16, 8, 128, spans, ct);
        bool staged = !await to.TryCopyFromPeerAsync(target, source, ct);
        var times = new List<double>();
        for (int i = 0; i < reps && !staged; i++)
        {
            var watch = Stopwatch.StartNew();
            await to.TryCopyFromPeerAsync(target, source, ct);
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        double ms = times.Count > 0 ? times[times.Count / 2] : double.NaN;
        return new PeerTiming(from.Name, to.Name, mib, source.DataBytes, staged, Math.Round(ms, 3), Math.Round(source.DataBytes / ms / 1e6, 1));
    }
}
