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

    /// <summary>Rows of q one prefill attend takes: at most 16M output floats (64 MiB per partial), so memory stays
    /// bounded, and a 4096-row chunk of 32 x 128 heads is one attend (at 4M floats, four attends of 1024 rows paid the
    /// tree's fixed costs four times).</summary>
    private static int ChunkRows(SessionSpec spec, int rows) => (int)Math.Max(1, Math.Min(rows, (16L << 20) / (spec.Heads * spec.HeadDim)));

    /// <summary>
    /// The prefill's first chunk of q, read on the thread pool while the segment is written and the pages fill (it
    /// needs neither): a 4096-row chunk's 32 MiB took 13 ms to read after them on nvidia-h200 (bench/NOTES.md v21).
    /// Null when there is no prefill. A refused append drops it unread.
    /// </summary>
    private static Task<byte[]>? ReadAhead(SessionSpec spec, string input, JobSpec? output, int rows)
    {
        if (output is null)
        {
            return null;
        }

        var read = Task.Run(() => ReadQueries(spec, input, 0, ChunkRows(spec, rows)));
        // Observed here, so that a refused append's read-ahead cannot fail unobserved.
        _ = read.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return read;
    }

    /// <summary>Rows [row, row + count) of the file's q in the session's type (no zeroing: every byte is read into).</summary>
    private static byte[] ReadQueries(SessionSpec spec, string input, int row, int count)
    {
        int rowBytes = spec.Heads * spec.HeadDim * spec.DType.Size();
        byte[] chunk = GC.AllocateUninitializedArray<byte>(count * rowBytes);
        using var file = SafetensorsFile.Open(input);
        foreach (var (at, piece) in SessionInputs.ReadRows(file, TensorNames.Query, spec.Heads, spec, row, count))
        {
            piece.Span.CopyTo(chunk.AsSpan(at * rowBytes));
        }

        return chunk;
    }

    /// <summary>The file's q rows [0, rows) at positions [first, first + rows), attended in chunks (the first read ahead:
    /// <paramref name="firstRows"/>); o and lse written to the output as a job writes them (temp file, renamed when
    /// complete, and not before the rows are <paramref name="durable"/>: no output for rows the session does not keep).</summary>
    private async Task PrefillAsync(string input, JobSpec output, int first, int rows, Task<byte[]> firstRows, Task durable)
    {
        var spec = _manifest!.Spec;
        int chunkRows = ChunkRows(spec, rows);
        var opening = RingTelemetry.Activities.StartActivity("prefill output file");
        using var writer = SafetensorsWriter.Create(output.OutputPath,
            [(TensorNames.Output, spec.DType, [rows, spec.Heads, spec.HeadDim]), (TensorNames.LogSumExp, ElementType.F32, [spec.Heads, rows])],
            new Dictionary<string, string>(Contracts.OutputMetadata.For(output, Id), StringComparer.Ordinal) { ["session"] = Id });
        opening?.Dispose();
        for (int row = 0; row < rows; row += chunkRows)
        {
            int count = Math.Min(chunkRows, rows - row);
            byte[] chunk;
            using (RingTelemetry.Activities.StartActivity("prefill read q"))
            {
                chunk = row == 0 ? await firstRows : ReadQueries(spec, input, row, count);
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

            byte[] o = GC.AllocateUninitializedArray<byte>(answer.Output.Length * spec.DType.Size());
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

        await DurableWaitAsync(durable);

        using (RingTelemetry.Activities.StartActivity("prefill commit"))
        {
            writer.Commit();
        }
    }
}
