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

    /// <summary>Rows of q one prefill attend takes at most: 16M output floats (64 MiB per partial), so memory stays
    /// bounded.</summary>
    private static int ChunkRows(SessionSpec spec, int rows) => (int)Math.Max(1, Math.Min(rows, (16L << 20) / (spec.Heads * spec.HeadDim)));

    /// <summary>Pieces a prefill's rows are attended in, so that one piece's output is converted, written and flushed
    /// while the next attends (ADR 29): the output's write and flush had followed the whole attend (~45 of a 4096-row
    /// append's ~210 ms on nvidia-h200, bench/NOTES.md v21).</summary>
    internal const int PrefillPieces = 4;

    /// <summary>Fewest rows a piece takes (128-row tiles x 32 heads: one wave of 132 SMs), so that small prefills stay
    /// one attend.</summary>
    internal const int MinPieceRows = 512;

    /// <summary>Rows of one prefill attend: a quarter of the rows in whole 128-row tiles, at least
    /// <see cref="MinPieceRows"/>, at most <see cref="ChunkRows"/>.</summary>
    internal static int PieceRows(SessionSpec spec, int rows)
    {
        int quarter = (rows + PrefillPieces - 1) / PrefillPieces;
        return Math.Min(ChunkRows(spec, rows), Math.Max(MinPieceRows, (quarter + 127) / 128 * 128));
    }

    /// <summary>
    /// The prefill's first piece of q, read on the thread pool while the segment is written and the pages fill (it
    /// needs neither): a 4096-row chunk's 32 MiB took 13 ms to read after them on nvidia-h200 (bench/NOTES.md v21).
    /// Null when there is no prefill. A refused append drops it unread.
    /// </summary>
    private static Task<byte[]>? ReadAhead(SessionSpec spec, string input, JobSpec? output, int rows) =>
        output is null ? null : Observed(Task.Run(() => ReadQueries(spec, input, 0, PieceRows(spec, rows))));

    /// <summary>The task, its failure observed (a read-ahead or write the caller may abandon cannot fail unobserved).</summary>
    private static Task<T> Observed<T>(Task<T> task)
    {
        _ = task.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return task;
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

    /// <summary>
    /// The file's q rows [0, rows) at positions [first, first + rows), attended in pieces (<see cref="PieceRows"/>; the
    /// first read ahead: <paramref name="firstRows"/>). Each piece's o and lse are written to the output as a job
    /// writes them (temp file, renamed when complete, and not before the rows are <paramref name="durable"/>: no output
    /// for rows the session does not keep) and flushed on the thread pool while the next piece attends, whose q is read
    /// meanwhile too; one piece's write at a time, so memory stays at two pieces' outputs.
    /// </summary>
    private async Task PrefillAsync(string input, JobSpec output, int first, int rows, Task<byte[]> firstRows, Task durable)
    {
        var spec = _manifest!.Spec;
        int pieceRows = PieceRows(spec, rows);
        var opening = RingTelemetry.Activities.StartActivity("prefill output file");
        using var writer = SafetensorsWriter.Create(output.OutputPath,
            [(TensorNames.Output, spec.DType, [rows, spec.Heads, spec.HeadDim]), (TensorNames.LogSumExp, ElementType.F32, [spec.Heads, rows])],
            new Dictionary<string, string>(Contracts.OutputMetadata.For(output, Id), StringComparer.Ordinal) { ["session"] = Id });
        opening?.Dispose();
        Task<byte[]>? queries = firstRows;
        Task written = Task.CompletedTask;
        try
        {
            for (int row = 0; row < rows; row += pieceRows)
            {
                int count = Math.Min(pieceRows, rows - row);
                byte[] chunk;
                using (RingTelemetry.Activities.StartActivity("prefill read q"))
                {
                    chunk = await queries!;
                }

                int next = row + count;
                queries = next < rows ? Observed(Task.Run(() => ReadQueries(spec, input, next, Math.Min(pieceRows, rows - next)))) : null;
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

                await written;
                int at = row;
                bool last = next >= rows;
                written = Task.Run(() => WritePiece(writer, spec, answer, at, count, flush: !last));
            }

            await written;
        }
        catch
        {
            // A piece still being written ends before the writer goes (the attend's failure, if any, is the error).
            await written.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            throw;
        }

        await DurableWaitAsync(durable);

        using (RingTelemetry.Activities.StartActivity("prefill commit"))
        {
            writer.Commit();
        }
    }

    /// <summary>One piece's o (converted to the session's type) and lse into the output, then (unless it is the last,
    /// which the commit flushes) flushed to the disk.</summary>
    private static void WritePiece(SafetensorsWriter writer, SessionSpec spec, SessionAnswer answer, int row, int count, bool flush)
    {
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

        if (flush)
        {
            using (RingTelemetry.Activities.StartActivity("prefill flush"))
            {
                writer.Flush();
            }
        }
    }
}
