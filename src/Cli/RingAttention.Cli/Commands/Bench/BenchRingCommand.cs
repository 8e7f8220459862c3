using System.ComponentModel;
using RingAttention.Cli.Bench;
using RingAttention.Cli.Reports;
using RingAttention.Grains;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Bench;

public sealed class BenchRingSettings : EmbeddedDeviceSettings
{
    [CommandOption("--tokens <T>")]
    [Description("sequence length")]
    [DefaultValue(262_144)]
    public int Tokens { get; init; } = 262_144;

    [CommandOption("--heads <HQ>")]
    [Description("query heads")]
    [DefaultValue(32)]
    public int Heads { get; init; } = 32;

    [CommandOption("--kv-heads <HKV>")]
    [Description("key/value heads")]
    [DefaultValue(8)]
    public int KvHeads { get; init; } = 8;

    [CommandOption("--head-dim <D>")]
    [Description("head dimension")]
    [DefaultValue(128)]
    public int HeadDim { get; init; } = 128;

    [CommandOption("--dtype <DTYPE>")]
    [Description("f32, f16 or bf16")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--causal")]
    [Description("causal mask")]
    public bool Causal { get; init; }

    [CommandOption("--shards <LIST>")]
    [Description("shard counts to compare, comma-separated (1 gives the efficiency baseline)")]
    [DefaultValue("1,2,4,8,16")]
    public string Shards { get; init; } = "1,2,4,8,16";

    [CommandOption("--repeat <N>")]
    [Description("runs per shard count in the same cluster (the first of a process also loads the kernels); medians are reported")]
    [DefaultValue(3)]
    public int Repeat { get; init; } = 3;

    [CommandOption("--silos <N>")]
    [Description("silos of the embedded cluster")]
    [DefaultValue(1)]
    public int Silos { get; init; } = 1;

    [CommandOption("--max-job-memory <BYTES>")]
    [Description("largest job in bytes (RingAttention:MaxJobMemoryBytes)")]
    public long? MaxJobMemory { get; init; }

    [CommandOption("--dir <DIR>")]
    [Description("where the inputs and outputs go (default: a temporary directory, removed at the end)")]
    public string? Dir { get; init; }

    [CommandOption("--check-rows <N>")]
    [Description("query tokens of the last output checked against float64")]
    [DefaultValue(64)]
    public int CheckRows { get; init; } = 64;

    public override ValidationResult Validate() =>
        Repeat < 1 ? ValidationResult.Error($"--repeat ({Repeat}) must be at least 1")
        : CheckRows < 1 ? ValidationResult.Error($"--check-rows ({CheckRows}) must be at least 1")
        : ValidationResult.Success();
}

/// <summary>
/// <c>ringattn bench ring</c>: the same attention job around rings of different sizes on one embedded cluster, warm
/// medians of wall, kernel and K/V-wait time per shard count, and the ring's efficiency (kernel time at one shard over
/// kernel time at R); the last output is checked against float64. PyTorch's numbers for the same shape come from the
/// oracle in the same device call (bench/gpu-ring-efficiency.sh).
/// </summary>
public sealed class BenchRingCommand : AsyncCommand<BenchRingSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, BenchRingSettings settings, CancellationToken cancellationToken)
    {
        int[] shardCounts = ListOption.Ints("--shards", settings.Shards);
        var type = LayoutParser.ParseDType(settings.DType);
        var target = ClusterTarget.Resolve(ClusterTarget.EmbeddedName, null, settings.Silos, null, null, null, settings.MaxJobMemory, settings.Device);
        string directory = Path.GetFullPath(settings.Dir ?? Path.Combine(Path.GetTempPath(), "ringattn-bench-" + Guid.NewGuid().ToString("N")[..8]));
        Directory.CreateDirectory(directory);
        try
        {
            string inputs = Path.Combine(directory, "qkv.safetensors");
            var specs = shardCounts.Select(r => new JobSpec
            {
                InputPath = inputs,
                OutputPath = Path.Combine(directory, $"o{r}.safetensors"),
                Causal = settings.Causal,
                Shards = r,
                Layout = ShardLayout.Zigzag,
                Overwrite = true,
            }).ToList();
            await GenCommand.WriteAsync(inputs, settings.Tokens, settings.Heads, settings.KvHeads, settings.HeadDim, type, seed: 1);
            // Every shard count is checked before the first job: a bad one fails now, not after an hour of the others.
            specs.ForEach(spec => Grains.Jobs.JobValidation.Preflight(spec));

            await using var connection = await ClusterConnection.OpenAsync(target, settings, [directory], cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"[grey]{connection.Description}[/]");
            var points = new List<RingPoint>();
            foreach (var spec in specs)
            {
                var runs = new List<JobReport>();
                for (int run = 0; run < settings.Repeat; run++)
                {
                    runs.Add(await JobProgressView.RunAsync(connection.Client, spec, cancellationToken));
                }

                double kernel = Median.Of(runs.Select(r => r.KernelSeconds));
                double? baseline = points.FirstOrDefault(p => p.Shards == 1)?.KernelSeconds ?? (spec.Shards == 1 ? kernel : null);
                var point = new RingPoint(spec.Shards, Median.Of(runs.Select(r => r.WallSeconds)), kernel, Median.Of(runs.Select(r => r.WaitSeconds)),
                    baseline is double one ? one / kernel : null, [.. runs.Select(r => r.WallSeconds)]);
                points.Add(point);
                string efficiency = point.Efficiency is double e ? FormattableString.Invariant($", efficiency {e:0.00}") : "";
                AnsiConsole.WriteLine(FormattableString.Invariant(
                    $"R={point.Shards}: wall {point.WallSeconds:0.000} s, kernel sum {point.KernelSeconds:0.000} s, K/V wait sum {point.WaitSeconds:0.000} s{efficiency}"));
            }

            var last = specs[^1];
            var verification = await VerifyCommand.CheckAsync(inputs, last.OutputPath, settings.Causal, null, null, settings.CheckRows, seed: 7, cancellationToken);
            CliOutput.Result(new RingBenchReport(connection.Description, settings.Tokens, settings.Heads, settings.KvHeads, settings.HeadDim,
                type.ToString(), settings.Causal, points, verification, connection.LogPath), CliJson.Default.RingBenchReport);
            return verification.Passed ? CliErrors.Ok : CliErrors.VerificationFailed;
        }
        finally
        {
            if (settings.Dir is null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
