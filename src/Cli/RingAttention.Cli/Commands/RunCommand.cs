using RingAttention.Cli.Bench;
using System.ComponentModel;
using RingAttention.Cli.Reports;
using RingAttention.Grains;
using RingAttention.Grains.Configuration;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class RunSettings : ClusterSettings
{
    [CommandOption("--inputs <PATH>")]
    // Help text is console markup: brackets are doubled.
    [Description("safetensors file with q [[T, Hq, D]], k and v [[T, Hkv, D]] (F32, F16, BF16, or F8_E4M3 with q_descale/k_descale/v_descale)")]
    public string? Inputs { get; init; }

    [CommandOption("--queries <PATH>")]
    [Description("safetensors file with q [[n, Hq, D]] (1 <= n <= T) to attend with instead of the inputs' q: k and v from --inputs; the output has n rows")]
    public string? Queries { get; init; }

    [CommandOption("--q-offset <P>")]
    [Description("with --queries: global position of the first query (keys sit at 0..T-1; --causal lets position p see keys <= p); default T - n, the last n positions")]
    public int? QueryOffset { get; init; }

    [CommandOption("--output <PATH>")]
    [Description("safetensors file to write: o [[T, Hq, D]] in the input dtype (bf16 for FP8 inputs), lse [[Hq, T]] F32; n rows with --queries")]
    public string? Output { get; init; }

    [CommandOption("--causal")]
    [Description("causal mask (key position <= query position)")]
    public bool Causal { get; init; }

    [CommandOption("--window <N>")]
    [Description("sliding window width: with --causal 0 <= q-k < N, else |q-k| < N")]
    public int? Window { get; init; }

    [CommandOption("--scale <S>")]
    [Description("softmax scale (default 1/sqrt(head dim))")]
    public float? Scale { get; init; }

    [CommandOption("--shards <R>")]
    [Description("shard grains in the ring")]
    [DefaultValue(4)]
    public int Shards { get; init; } = 4;

    [CommandOption("--layout <LAYOUT>")]
    [Description("contiguous or zigzag (zigzag gives every shard equal causal work)")]
    [DefaultValue("zigzag")]
    public string Layout { get; init; } = "zigzag";

    [CommandOption("--force")]
    [Description("replace an existing output file that RingAttention did not write")]
    public bool Force { get; init; }

    [CommandOption("--lease <SECONDS>")]
    [Description("with --cluster: the cluster cancels the job when this process has not asked for its status for this long (it was killed or lost its network)")]
    [DefaultValue(JobProgressView.DefaultLeaseSeconds)]
    public int Lease { get; init; } = JobProgressView.DefaultLeaseSeconds;

    [CommandOption("--detach")]
    [Description("with --cluster: submit, print the job id and exit; the job runs on without this process")]
    public bool Detach { get; init; }

    [CommandOption("--max-job-memory <BYTES>")]
    [Description("embedded cluster: largest job in bytes (RingAttention:MaxJobMemoryBytes, default 8 GiB, at least 1 MiB)")]
    public long? MaxJobMemory { get; init; }

    [CommandOption("--repeat <N>")]
    [Description("run the job N times in the same cluster (warm runs for benchmarks); prints each run and the median")]
    [DefaultValue(1)]
    public int Repeat { get; init; } = 1;

    [CommandOption("--attention <KIND>")]
    [Description("softmax (default) or linear: φ(q)ᵀ S with S = γ S + φ(k) vᵀ, the ring passing states instead of K/V")]
    [DefaultValue("softmax")]
    public string Attention { get; init; } = "softmax";

    [CommandOption("--feature-map <MAP>")]
    [Description("linear attention's φ: elu1 (elu(x) + 1, default), relu or identity")]
    [DefaultValue("elu1")]
    public string FeatureMap { get; init; } = "elu1";

    [CommandOption("--decay <GAMMA>")]
    [Description("linear attention's decay γ in (0, 1]] for every head (retention), or 'tensor' to read decay [[heads]] F32 from the input file")]
    public string? Decay { get; init; }

    [CommandOption("--no-normalize")]
    [Description("linear attention without the division by φ(q)ᵀz (as RetNet)")]
    public bool NoNormalize { get; init; }

    [CommandOption("--exchange <HOW>")]
    [Description("linear attention: how shards share their states: gather (one round, default) or ring (prefixes passed along the shards)")]
    [DefaultValue("gather")]
    public string Exchange { get; init; } = "gather";

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Inputs) ? ValidationResult.Error("--inputs is required")
        : Attention is not ("softmax" or "linear") ? ValidationResult.Error($"--attention must be softmax or linear but is '{Attention}'")
        : Attention == "softmax" && (Decay is not null || NoNormalize || FeatureMap != "elu1" || Exchange != "gather")
            ? ValidationResult.Error("--feature-map, --decay, --no-normalize and --exchange are for --attention linear")
        : Exchange is not ("gather" or "ring") ? ValidationResult.Error($"--exchange must be gather or ring but is '{Exchange}'")
        : Decay is not null && Decay != "tensor" && !float.TryParse(Decay, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out _)
            ? ValidationResult.Error($"--decay must be a number in (0, 1] or 'tensor' but is '{Decay}'")
        : string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required")
        : Repeat < 1 ? ValidationResult.Error($"--repeat ({Repeat}) must be at least 1")
        // The silo's own rule, so the flag and the setting cannot disagree; said with the flag's name.
        : MaxJobMemory is long limit && new RingAttentionOptionsValidator().Validate(null, new RingAttentionOptions { MaxJobMemoryBytes = limit })
            is { Failed: true } invalid ? ValidationResult.Error($"--max-job-memory: {invalid.FailureMessage}")
        : Detach && Repeat > 1 ? ValidationResult.Error("--detach and --repeat cannot be combined")
        : Lease is < 5 or > 86_400 ? ValidationResult.Error($"--lease ({Lease}) must be between 5 and 86400 seconds")
        : QueryOffset is not null && Queries is null ? ValidationResult.Error("--q-offset needs --queries")
        : ValidationResult.Success();
}

/// <summary><c>ringattn run</c>: a user's own tensors through the ring.</summary>
public sealed class RunCommand : AsyncCommand<RunSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, RunSettings settings, CancellationToken cancellationToken)
    {
        var target = ClusterTarget.Resolve(settings.Cluster, settings.ClusterId, settings.Silos, settings.TlsCertificate, settings.TlsPassword,
            settings.Token, settings.MaxJobMemory, settings.Device);
        if (settings.Detach && target.Embedded)
        {
            throw new Attention.SpecValidationException("detach", "--detach needs --cluster or RINGATTN_CLUSTER (an embedded cluster ends with this process)");
        }

        var spec = new JobSpec
        {
            InputPath = Path.GetFullPath(settings.Inputs!),
            QueriesPath = settings.Queries is null ? null : Path.GetFullPath(settings.Queries),
            QueryOffset = settings.QueryOffset,
            OutputPath = Path.GetFullPath(settings.Output!),
            Causal = settings.Causal,
            Window = settings.Window,
            Scale = settings.Scale,
            Shards = settings.Shards,
            Layout = LayoutParser.Parse(settings.Layout),
            Overwrite = settings.Force,
            Attention = settings.Attention == "linear" ? Attention.AttentionKind.Linear : Attention.AttentionKind.Softmax,
            FeatureMap = Attention.LinearFeatureMaps.Parse(settings.FeatureMap, "featureMap"),
            Decay = settings.Decay is null or "tensor" ? null : [float.Parse(settings.Decay, System.Globalization.CultureInfo.InvariantCulture)],
            DecayFromInput = settings.Decay == "tensor",
            Normalize = !settings.NoNormalize,
            Exchange = settings.Exchange == "ring" ? LinearExchange.Ring : LinearExchange.Gather,
            // A job whose CLI dies is cancelled by the cluster after this long without a status call (unless detached).
            ClientLeaseSeconds = settings.Detach ? null : settings.Lease,
        };
        // Everything that can be checked here is, before a cluster starts or is contacted: a typo costs milliseconds.
        // A running cluster may see files this machine does not (its own storage): those are left to it.
        if (target.Embedded || File.Exists(spec.InputPath))
        {
            _ = Grains.Jobs.JobValidation.Preflight(spec);
        }

        await using var connection = await ClusterConnection.OpenAsync(target, settings,
            [DirectoryOf(spec.InputPath), DirectoryOf(spec.OutputPath), .. spec.QueriesPath is null ? Array.Empty<string>() : [DirectoryOf(spec.QueriesPath)]], cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"[grey]{connection.Description}[/]");
        if (settings.Detach)
        {
            var detached = await connection.Client.SubmitAsync(spec, ct: cancellationToken);
            AnsiConsole.WriteLine($"job {detached.Id} submitted; it runs on without this process (no lease)");
            CliOutput.Result(new SubmitReport(detached.Id, spec.OutputPath), CliJson.Default.SubmitReport);
            return CliErrors.Ok;
        }

        var runs = new List<JobReport>();
        JobStatus? last = null;
        for (int run = 1; run <= settings.Repeat; run++)
        {
            last = await JobProgressView.FollowAsync(await JobProgressView.SubmitAsync(connection.Client, spec, cancellationToken), cancellationToken);
            var report = JobReport.From(last);
            runs.Add(report);
            if (settings.Repeat > 1)
            {
                AnsiConsole.WriteLine(FormattableString.Invariant(
                    $"run {run}: wall {report.WallSeconds:0.000} s, kernel sum {report.KernelSeconds:0.000} s, K/V wait sum {report.WaitSeconds:0.000} s, load sum {report.LoadSeconds:0.000} s, write sum {report.WriteSeconds:0.000} s"));
            }
        }

        CliOutput.Human(() => JobProgressView.PrintFigures(runs[^1]));
        if (settings.Repeat > 1)
        {
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"median of {runs.Count} runs: wall {Median.Of(runs.Select(r => r.WallSeconds)):0.000} s, kernel sum {Median.Of(runs.Select(r => r.KernelSeconds)):0.000} s"));
        }

        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {runs[^1].Output}");
        CliOutput.Result(new RunReport(runs[^1], [.. runs.Select(r => r.WallSeconds)], connection.LogPath, RunReport.StatusAsTheApiWritesIt(last!)), CliJson.Default.RunReport);
        return CliErrors.Ok;
    }

    private static string DirectoryOf(string path) => Path.GetDirectoryName(path)!;
}
