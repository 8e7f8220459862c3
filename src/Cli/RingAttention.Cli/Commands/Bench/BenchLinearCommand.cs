using System.ComponentModel;
using RingAttention.Attention;
using RingAttention.Cli.Bench;
using RingAttention.Cli.Reports;
using RingAttention.Grains;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Bench;

public sealed class BenchLinearSettings : EmbeddedDeviceSettings
{
    [CommandOption("--tokens <LIST>")]
    [Description("sequence lengths, comma-separated")]
    [DefaultValue("131072")]
    public string Tokens { get; init; } = "131072";

    [CommandOption("--heads <HQ>")]
    [DefaultValue(32)]
    public int Heads { get; init; } = 32;

    [CommandOption("--kv-heads <HKV>")]
    [DefaultValue(8)]
    public int KvHeads { get; init; } = 8;

    [CommandOption("--head-dim <D>")]
    [DefaultValue(128)]
    public int HeadDim { get; init; } = 128;

    [CommandOption("--dtype <DTYPE>")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--decay <GAMMA>")]
    [Description("γ of every head (causal retention)")]
    [DefaultValue(0.999f)]
    public float Decay { get; init; } = 0.999f;

    [CommandOption("--shards <LIST>")]
    [DefaultValue("1,8")]
    public string Shards { get; init; } = "1,8";

    [CommandOption("--exchange <LIST>")]
    [Description("state exchanges to compare: gather, ring")]
    [DefaultValue("gather,ring")]
    public string Exchange { get; init; } = "gather,ring";

    [CommandOption("--softmax")]
    [Description("also run causal softmax attention on the same shape (each token count, the largest shard count)")]
    public bool Softmax { get; init; }

    [CommandOption("--repeat <N>")]
    [DefaultValue(3)]
    public int Repeat { get; init; } = 3;

    [CommandOption("--max-job-memory <BYTES>")]
    public long? MaxJobMemory { get; init; }

    [CommandOption("--dir <DIR>")]
    [Description("where outputs go (each removed after its run; default: a temporary directory)")]
    public string? Dir { get; init; }

    public override ValidationResult Validate() =>
        Repeat < 1 ? ValidationResult.Error($"--repeat ({Repeat}) must be at least 1") : ValidationResult.Success();
}

/// <summary>
/// <c>ringattn bench linear</c>: causal linear attention with decay (issue 16) on synthetic inputs (each shard makes
/// its own rows: no input file), per token count, shard count and state exchange; warm medians of the attention phase
/// (what the PyTorch peer's time compares with: inputs resident, output not written) and the bytes of the states sent.
/// </summary>
public sealed class BenchLinearCommand : AsyncCommand<BenchLinearSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, BenchLinearSettings settings, CancellationToken cancellationToken)
    {
        int[] tokenCounts = ListOption.Ints("--tokens", settings.Tokens), shardCounts = ListOption.Ints("--shards", settings.Shards);
        var exchanges = settings.Exchange.Split(',').Select(e => e.Trim() switch
        {
            "gather" => LinearExchange.Gather,
            "ring" => LinearExchange.Ring,
            _ => throw new SpecValidationException("exchange", $"--exchange takes gather and ring, not '{e}'"),
        }).ToArray();
        var type = LayoutParser.ParseDType(settings.DType);
        var target = ClusterTarget.Resolve(ClusterTarget.EmbeddedName, null, 1, null, null, null, settings.MaxJobMemory, settings.Device);
        string directory = Path.GetFullPath(settings.Dir ?? Path.Combine(Path.GetTempPath(), "ringattn-linear-" + Guid.NewGuid().ToString("N")[..8]));
        Directory.CreateDirectory(directory);
        JobSpec Spec(int tokens, int shards, AttentionKind kind, LinearExchange exchange) => new()
        {
            SyntheticSeed = 1,
            Tokens = tokens,
            Heads = settings.Heads,
            KvHeads = settings.KvHeads,
            HeadDim = settings.HeadDim,
            DType = type,
            Causal = true,
            Shards = shards,
            Layout = ShardLayout.Zigzag,
            OutputPath = Path.Combine(directory, "o.safetensors"),
            Overwrite = true,
            Attention = kind,
            Decay = kind == AttentionKind.Linear ? [settings.Decay] : null,
            Exchange = exchange,
        };
        var specs = new List<JobSpec>();
        foreach (int tokens in tokenCounts)
        {
            foreach (int shards in shardCounts)
            {
                specs.AddRange((shards == 1 ? exchanges.Take(1) : exchanges).Select(e => Spec(tokens, shards, AttentionKind.Linear, e)));
            }

            if (settings.Softmax)
            {
                specs.Add(Spec(tokens, shardCounts.Max(), AttentionKind.Softmax, LinearExchange.Gather));
            }
        }

        try
        {
            specs.ForEach(spec => Grains.Jobs.JobValidation.Preflight(spec));
            await using var connection = await ClusterConnection.OpenAsync(target, settings, [directory], cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"[grey]{connection.Description}[/]");
            var points = new List<LinearPoint>();
            foreach (var spec in specs)
            {
                var runs = new List<JobReport>();
                for (int run = 0; run < settings.Repeat; run++)
                {
                    runs.Add(await JobProgressView.RunAsync(connection.Client, spec, cancellationToken));
                    File.Delete(spec.OutputPath);
                }

                double attention = Median.Of(runs.Select(AttentionPhase));
                var last = runs[^1];
                var point = new LinearPoint(last.Attention, spec.Tokens, spec.Shards, spec.Attention == AttentionKind.Linear ? spec.Exchange.ToString().ToLowerInvariant() : "-",
                    Median.Of(runs.Select(r => r.WallSeconds)), attention, Median.Of(runs.Select(r => r.KernelSeconds)), Median.Of(runs.Select(r => r.WaitSeconds)),
                    spec.Tokens / attention, last.StateBytes, last.StatesSent, last.StatesSent == 0 ? 0 : last.StateBytes / last.StatesSent,
                    [.. runs.Select(AttentionPhase)]);
                points.Add(point);
                AnsiConsole.WriteLine(FormattableString.Invariant(
                    $"{point.Attention} T={point.Tokens} R={point.Shards} {point.Exchange}: attention {point.AttentionSeconds:0.000} s ({point.TokensPerSecond:N0} tokens/s), wall {point.WallSeconds:0.000} s, states {point.StatesSent} x {point.StateBytesPerHop:N0} B"));
            }

            CliOutput.Result(new LinearBenchReport(connection.Description, settings.Heads, settings.KvHeads, settings.HeadDim, type.ToString(), settings.Decay,
                points, connection.LogPath), CliJson.Default.LinearBenchReport);
            return CliErrors.Ok;
        }
        finally
        {
            if (settings.Dir is null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    /// <summary>
    /// From the last shard holding its inputs to the last shard's output computed: every shard's compute and the
    /// exchange, none of the loading (shards of one device load one after another, and a linear shard waits for every
    /// state before its output) and none of the writing.
    /// </summary>
    private static double AttentionPhase(JobReport run) => run.WallSeconds - run.BeforeRingSeconds - run.AfterRingSeconds;
}
