using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using RingAttention.Attention;
using RingAttention.Cli.Reports;
using RingAttention.Contracts;
using RingAttention.Tensors;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

public sealed class SessionAttendSettings : SessionSettings
{
    [CommandOption("--queries <PATH>")]
    [Description("safetensors file with q [[n, Hq, D]] (F32, F16 or BF16)")]
    public string? Queries { get; init; }

    [CommandOption("--q-offset <P>")]
    [Description("global position of the first query (default: the session's length, i.e. the queries follow the context)")]
    public int? QueryOffset { get; init; }

    [CommandOption("--output <PATH>")]
    [Description("safetensors file to write: o [[n, Hq, D]] in q's dtype, lse [[Hq, n]] F32")]
    public string? Output { get; init; }

    [CommandOption("--force")]
    [Description("replace an existing output file that RingAttention did not write")]
    public bool Force { get; init; }

    [CommandOption("--repeat <N>")]
    [Description("attend N times in this process (the first call may reload the pages from storage): prints each time and the median of the rest")]
    [DefaultValue(1)]
    public int Repeat { get; init; } = 1;

    [CommandOption("--timeline")]
    [Description("print where the last attend's time went: the session grain, each shard, the device lane and the turn's upload, kernels, merges and downloads (embedded cluster only: its silo runs in this process)")]
    public bool Timeline { get; init; }

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Queries) ? ValidationResult.Error("--queries is required")
        : Timeline && !string.IsNullOrWhiteSpace(Cluster) ? ValidationResult.Error("--timeline records this process's activities, so it needs the embedded cluster (no --cluster)")
        : Repeat is < 1 or > 10_000 ? ValidationResult.Error($"--repeat ({Repeat}) must be between 1 and 10000")
        : string.IsNullOrWhiteSpace(Output) ? ValidationResult.Error("--output is required")
        : ValidationResult.Success();
}

/// <summary><c>ringattn session attend</c>: queries against everything a session has cached; the answer is written here.</summary>
public sealed class SessionAttendCommand : AsyncCommand<SessionAttendSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionAttendSettings settings, CancellationToken cancellationToken)
    {
        string queriesPath = Path.GetFullPath(settings.Queries!), output = Path.GetFullPath(settings.Output!);
        // The output is checked before anything is computed: a typo costs milliseconds.
        Grains.Jobs.OutputTarget.CheckPath(new JobSpec { OutputPath = output, QueriesPath = queriesPath, Overwrite = settings.Force });
        var (type, rows, heads, headDim, data) = ReadQueries(queriesPath);
        using var timeline = settings.Timeline ? new SessionTimeline() : null;
        await using var connection = await settings.ConnectAsync([queriesPath, output], cancellationToken);
        var session = connection.Client.GetSession(settings.Id);
        var answer = await session.AttendAsync(type, rows, data, settings.QueryOffset, cancellationToken);
        var seconds = new List<double> { answer.Seconds };
        for (int run = 2; run <= settings.Repeat; run++)
        {
            // Timed at the session grain (arrival to merged answer), so the client's messaging is not in the figure.
            seconds.Add((await session.AttendAsync(type, rows, data, settings.QueryOffset, cancellationToken)).Seconds);
        }

        if (settings.Repeat > 1)
        {
            var warm = seconds.Skip(1).Order().ToList();
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"first attend {seconds[0] * 1000:0.00} ms; median of the next {warm.Count}: {warm[warm.Count / 2] * 1000:0.000} ms (min {warm[0] * 1000:0.000}, max {warm[^1] * 1000:0.000})"));
        }

        byte[] o = new byte[answer.Output.Length * type.Size()];
        ElementConvert.FromSingle(answer.Output, type, o);
        SafetensorsFile.Write(output,
        [
            (TensorNames.Output, type, [rows, heads, headDim], o),
            (TensorNames.LogSumExp, ElementType.F32, [heads, rows], MemoryMarshal.AsBytes(answer.Lse.AsSpan()).ToArray()),
        ], new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [OutputMetadata.ProducerKey] = OutputMetadata.ProducerName,
            [OutputMetadata.VersionKey] = OutputMetadata.Version,
            ["session"] = settings.Id,
            [OutputMetadata.QueriesKey] = queriesPath,
            [OutputMetadata.QueryOffsetKey] = answer.FirstPosition.ToString(CultureInfo.InvariantCulture),
            [OutputMetadata.LseKey] = "natural log, [heads, rows], float32; -inf where a row sees no key",
        });
        var report = new SessionAttendReport(settings.Id, rows, answer.FirstPosition, answer.Seconds, answer.MergeRounds, output, seconds);
        CliOutput.Human(() => AnsiConsole.WriteLine(FormattableString.Invariant(
            $"attended {rows} quer{(rows == 1 ? "y" : "ies")} at positions [{answer.FirstPosition}, {answer.FirstPosition + rows}) in {answer.Seconds * 1000:0.0} ms ({answer.MergeRounds} merge rounds)")));
        if (timeline is not null)
        {
            CliOutput.Human(() => timeline.Last("attend").ToList().ForEach(line => AnsiConsole.WriteLine(line)));
        }

        AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output}");
        CliOutput.Result(report, CliJson.Default.SessionAttendReport);
        return CliErrors.Ok;
    }

    private static (ElementType Type, int Rows, int Heads, int HeadDim, byte[] Data) ReadQueries(string path)
    {
        using var file = SafetensorsFile.Open(path, "queries");
        var q = file.GetTensor(TensorNames.Query);
        if (q.Shape.Length != 3 || q.Shape[0] < 1)
        {
            throw new SpecValidationException("queries.q", $"q must be [n, heads, headDim] with n >= 1 but has shape {ShapeMath.Format(q.Shape)}");
        }

        if (q.Type.ComputeType() != q.Type)
        {
            throw new SpecValidationException("queries.q", $"q is {q.Type.SafetensorsName()}; a session attends F32, F16 or BF16 queries");
        }

        if (q.ByteLength > 256L << 20)
        {
            throw new SpecValidationException("queries", $"q holds {q.ByteLength:N0} bytes; one attend takes at most 256 MiB of queries (append them with --output instead)");
        }

        byte[] data = new byte[q.ByteLength];
        file.ReadRows(TensorNames.Query, 0, (int)q.Shape[0], data);
        return (q.Type, (int)q.Shape[0], (int)q.Shape[1], (int)q.Shape[2], data);
    }
}
