using System.Runtime.InteropServices;
using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Jobs;
using RingAttention.Grains.Telemetry;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>The prefill of a create or append whose file has q: its output checked up front, then written.</summary>
public sealed partial class SessionGrain
{
    /// <summary>The prefill's output as a job spec (queries = the file's q at their positions), checked, or null when
    /// there is nothing to write (no q, or no output path).</summary>
    private JobSpec? PrefillOutput(SessionSpec spec, string input, string? outputPath, bool overwrite, SessionInputs.Shape shape, int first)
    {
        if (outputPath is null)
        {
            return null;
        }

        if (!shape.HasQueries)
        {
            throw new SpecValidationException("output", "an output was given but the file has no q: there is nothing to write");
        }

        PathConfinement.Check("output", outputPath, options.Value.AllowedRoots);
        var job = new JobSpec
        {
            InputPath = input,
            QueriesPath = input,
            QueryOffset = first,
            QueryTokens = shape.Tokens,
            OutputPath = outputPath,
            Overwrite = overwrite,
            Tokens = first + shape.Tokens,
            Heads = spec.Heads,
            KvHeads = spec.KvHeads,
            HeadDim = spec.HeadDim,
            DType = spec.DType,
            Causal = spec.Causal,
            Window = spec.Window,
            Scale = spec.Scale,
            Shards = spec.Shards,
        };
        OutputTarget.CheckPath(job);
        OutputTarget.CheckWritable(job, OutputTarget.Bytes(job));
        return job;
    }

    /// <summary>The file's q rows [0, rows) at positions [first, first + rows), attended in chunks; o and lse written to
    /// the output as a job writes them (temp file, renamed when complete).</summary>
    private async Task PrefillAsync(string input, JobSpec output, int first, int rows)
    {
        var spec = _manifest!.Spec;
        int rowFloats = spec.Heads * spec.HeadDim;
        // Chunks of at most 16M output floats (64 MiB per shard's partial): memory stays bounded, and a 4096-row chunk
        // of 32 x 128 heads is one attend (at 4M floats, four attends of 1024 rows paid the tree's fixed costs four times).
        int chunkRows = (int)Math.Max(1, Math.Min(rows, (16L << 20) / rowFloats));
        var opening = RingTelemetry.Activities.StartActivity("prefill output file");
        using var writer = SafetensorsWriter.Create(output.OutputPath,
            [(TensorNames.Output, spec.DType, [rows, spec.Heads, spec.HeadDim]), (TensorNames.LogSumExp, ElementType.F32, [spec.Heads, rows])],
            new Dictionary<string, string>(Contracts.OutputMetadata.For(output, Id), StringComparer.Ordinal) { ["session"] = Id });
        using var file = SafetensorsFile.Open(input);
        opening?.Dispose();
        for (int row = 0; row < rows; row += chunkRows)
        {
            int count = Math.Min(chunkRows, rows - row);
            byte[] chunk = new byte[count * rowFloats * spec.DType.Size()];
            using (RingTelemetry.Activities.StartActivity("prefill read q"))
            {
                foreach (var (at, piece) in SessionInputs.ReadRows(file, TensorNames.Query, spec.Heads, spec, row, count))
                {
                    piece.Span.CopyTo(chunk.AsSpan(at * rowFloats * spec.DType.Size()));
                }
            }

            long attendStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            SessionAnswer answer;
            using (RingTelemetry.Activities.StartActivity("prefill attend"))
            {
                answer = await AttendRowsAsync(_manifest, new SessionQueries { Type = spec.DType, Rows = count, Data = chunk }, first + row);
            }

            _lastTimes = _lastTimes with { Attend = _lastTimes.Attend + System.Diagnostics.Stopwatch.GetElapsedTime(attendStarted).TotalSeconds };
            if (answer.Error is { } refusal)
            {
                throw new SpecValidationException(refusal.Field, refusal.Message);
            }

            byte[] o = new byte[answer.Output.Length * spec.DType.Size()];
            using (RingTelemetry.Activities.StartActivity("prefill convert o"))
            {
                ElementConvert.FromSingle(answer.Output, spec.DType, o);
            }

            using (RingTelemetry.Activities.StartActivity("prefill write"))
            {
                writer.WriteRows(TensorNames.Output, row, o);
                for (int h = 0; h < spec.Heads; h++)
                {
                    writer.WriteSegment(TensorNames.LogSumExp, h, row, MemoryMarshal.AsBytes(answer.Lse.AsSpan(h * count, count)));
                }
            }
        }

        using (RingTelemetry.Activities.StartActivity("prefill commit"))
        {
            writer.Commit();
        }
    }
}
