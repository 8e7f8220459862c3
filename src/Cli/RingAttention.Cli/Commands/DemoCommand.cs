using System.ComponentModel;
using RingAttention.Cli.Reports;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class DemoSettings : EmbeddedDeviceSettings
{
    [CommandOption("--tokens <T>")]
    [Description("sequence length")]
    [DefaultValue(16_384)]
    public int Tokens { get; init; } = 16_384;

    [CommandOption("--silos <N>")]
    [Description("silos of the embedded cluster (default 3, or 1 on a host with several GPUs: one silo owns them all and hands blocks device to device)")]
    public int? Silos { get; init; }

    [CommandOption("--shards <R>")]
    [Description("shard grains in the ring")]
    [DefaultValue(6)]
    public int Shards { get; init; } = 6;

    [CommandOption("--dtype <DTYPE>")]
    [Description("f32, f16 or bf16")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--keep <DIR>")]
    [Description("keep the input and output files in DIR instead of a temporary directory")]
    public string? Keep { get; init; }

    public override ValidationResult Validate() =>
        Shards < 1 || Shards > Tokens ? ValidationResult.Error($"--shards ({Shards}) must be between 1 and --tokens ({Tokens})")
        : Silos is < 1 ? ValidationResult.Error($"--silos ({Silos}) must be at least 1")
        : ValidationResult.Success();
}

/// <summary>
/// <c>ringattn demo</c>: the whole product in one command. A random causal GQA job (8 query heads over 2 kv heads,
/// head dim 64) in a real safetensors file, a zigzag ring over an in-process cluster, a float64 check of sampled rows.
/// </summary>
public sealed class DemoCommand : AsyncCommand<DemoSettings>
{
    private const int Heads = 8, KvHeads = 2, HeadDim = 64;

    public override async Task<int> ExecuteAsync(CommandContext context, DemoSettings settings, CancellationToken cancellationToken)
    {
        double runtimeStart = (DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalSeconds;
        var type = LayoutParser.ParseDType(settings.DType);
        new Attention.AttentionSpec(settings.Tokens, Heads, KvHeads, HeadDim, type, new Attention.AttentionMask(true, null)).Validate();
        var target = ClusterTarget.Resolve(ClusterTarget.EmbeddedName, null, settings.Silos, null, null, null, null, settings.Device);
        string directory = settings.Keep is null
            ? Path.Combine(Path.GetTempPath(), "ringattn-demo-" + Guid.NewGuid().ToString("N")[..8])
            : Path.GetFullPath(settings.Keep);
        Directory.CreateDirectory(directory);
        try
        {
            string inputs = Path.Combine(directory, "qkv.safetensors");
            string output = Path.Combine(directory, "out.safetensors");
            AnsiConsole.WriteLine($"random q [{settings.Tokens}, {Heads}, {HeadDim}], k and v [{settings.Tokens}, {KvHeads}, {HeadDim}] {type.SafetensorsName()} in {inputs}");
            await GenCommand.WriteAsync(inputs, settings.Tokens, Heads, KvHeads, HeadDim, type, Environment.TickCount64);

            var clusterStart = System.Diagnostics.Stopwatch.StartNew();
            await using var connection = await ClusterConnection.OpenAsync(target, settings, [directory], cancellationToken);
            double clusterSeconds = clusterStart.Elapsed.TotalSeconds;
            AnsiConsole.MarkupLineInterpolated($"[grey]{connection.Description}; {settings.Shards} shards, zigzag layout, causal mask[/]");
            var job = await JobProgressView.SubmitAsync(connection.Client, new JobSpec
            {
                InputPath = inputs,
                OutputPath = output,
                Causal = true,
                Shards = settings.Shards,
                Layout = ShardLayout.Zigzag,
            }, cancellationToken);
            var report = JobReport.From(await JobProgressView.FollowAsync(job, cancellationToken));
            CliOutput.Human(() => JobProgressView.PrintFigures(report));

            var verification = await VerifyCommand.CheckAsync(inputs, output, causal: true, window: null, scale: null, rows: 64, seed: 7, cancellationToken);
            CliOutput.Result(new DemoReport(inputs, report, verification, connection.LogPath, runtimeStart, clusterSeconds), CliJson.Default.DemoReport);
            return verification.Passed ? CliErrors.Ok : CliErrors.VerificationFailed;
        }
        finally
        {
            if (settings.Keep is null)
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }
}
