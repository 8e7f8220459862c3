using System.ComponentModel;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class DemoSettings : CommandSettings
{
    [CommandOption("--tokens <T>")]
    [DefaultValue(16_384)]
    public int Tokens { get; init; } = 16_384;

    [CommandOption("--silos <N>")]
    [DefaultValue(3)]
    public int Silos { get; init; } = 3;

    [CommandOption("--shards <R>")]
    [DefaultValue(6)]
    public int Shards { get; init; } = 6;

    [CommandOption("--dtype <DTYPE>")]
    [DefaultValue("bf16")]
    public string DType { get; init; } = "bf16";

    [CommandOption("--keep <DIR>")]
    [Description("keep the input and output files in DIR instead of a temporary directory")]
    public string? Keep { get; init; }
}

/// <summary>
/// <c>ringattn demo</c>: the whole product in one command. A random causal GQA job (8 query heads over 2 kv heads,
/// head dim 64) in a real safetensors file, a zigzag ring over an in-process cluster, a float64 check of sampled rows.
/// </summary>
public sealed class DemoCommand : AsyncCommand<DemoSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, DemoSettings settings, CancellationToken cancellationToken)
    {
        string directory = settings.Keep ?? Path.Combine(Path.GetTempPath(), "ringattn-demo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            string inputs = Path.Combine(directory, "qkv.safetensors");
            string output = Path.Combine(directory, "out.safetensors");
            var type = LayoutParser.ParseDType(settings.DType);
            AnsiConsole.WriteLine($"writing random q [{settings.Tokens}, 8, 64], k and v [{settings.Tokens}, 2, 64] {type} to {inputs}");
            RandomAttentionInputs.Write(inputs, settings.Tokens, heads: 8, kvHeads: 2, headDim: 64, type, seed: Environment.TickCount64);

            await using var connection = await ClusterConnection.OpenAsync(null, settings.Silos, cancellationToken, [directory]);
            AnsiConsole.MarkupLineInterpolated($"[grey]{connection.Description}; {settings.Shards} shards, zigzag layout, causal mask[/]");
            var job = await JobProgressView.SubmitAsync(connection.Client, new JobSpec
            {
                InputPath = inputs,
                OutputPath = output,
                Causal = true,
                Shards = settings.Shards,
                Layout = ShardLayout.Zigzag,
            }, cancellationToken);
            var status = await JobProgressView.FollowAsync(job, cancellationToken);
            JobProgressView.PrintFigures(status);

            var report = await Task.Run(() => OutputVerifier.Verify(inputs, output, new(true, null), null, rows: 64, seed: 7), cancellationToken);
            return VerificationView.Print(report);
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
