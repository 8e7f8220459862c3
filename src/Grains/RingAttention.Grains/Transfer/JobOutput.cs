using System.Diagnostics;
using System.Runtime.InteropServices;
using RingAttention.Attention;
using RingAttention.Grains.Ring;
using RingAttention.Grains.Transfer;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Transfer;

/// <summary>
/// The job's output file: o [tokens, heads, headDim] in the input dtype and lse [heads, tokens] F32 (o alone for linear
/// attention). Shards write
/// their rows into a temp file beside the output; the coordinator renames it when every shard is done.
/// </summary>
public static class JobOutput
{

    public static string PartialPath(string outputPath, string jobId, long attempt) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, $".{Path.GetFileName(outputPath)}.{jobId}.{attempt}.partial");

    /// <summary>Creates the attempt's temp file, its header saying what is computed (<see cref="OutputMetadata"/>); the
    /// returned handle is held by the coordinator until the attempt ends.</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle Create(JobSpec spec, string jobId, string partialPath) =>
        SafetensorsSharedOutput.Create(partialPath, Tensors(spec), OutputMetadata.For(spec, jobId));

    /// <summary>o, and lse for softmax attention (linear attention has no softmax, so no lse).</summary>
    private static List<(string Name, ElementType Type, long[] Shape)> Tensors(JobSpec spec)
    {
        var tensors = new List<(string Name, ElementType Type, long[] Shape)> { (TensorNames.Output, spec.ComputeType, [spec.Queries, spec.Heads, spec.HeadDim]) };
        if (spec.Attention != AttentionKind.Linear)
        {
            tensors.Add((TensorNames.LogSumExp, ElementType.F32, [spec.Heads, spec.Queries]));
        }

        return tensors;
    }

    /// <summary>
    /// Writes a shard's rows of o (converted to the storage dtype) and its slices of every lse row. o travels in
    /// chunks of rows through the <see cref="DoubleBufferPump"/>: the next chunk is read (downloaded from the device)
    /// while the current one is converted and written, so neither a device result nor a converted copy is ever whole
    /// on the host.
    /// </summary>
    public static async Task<OutputWriteTimes> WriteShardAsync(ShardPlan plan, ShardResult result, int chunkBytes, CancellationToken ct)
    {
        var spec = plan.Spec;
        using var file = SafetensorsSharedOutput.OpenForWrite(plan.PartialOutputPath);
        int rowElements = spec.Heads * spec.HeadDim;
        int chunkRows = Math.Max(1, chunkBytes / (rowElements * sizeof(float)));
        var chunks = new List<(long LocalRow, int GlobalRow, int Rows)>();
        long localRow = 0;
        // Output row = query position - the first query's position (0 unless the queries came from their own file).
        int firstPosition = spec.FirstQueryPosition;
        foreach (var span in plan.OwnQuerySpans)
        {
            for (int first = 0; first < span.Count; first += chunkRows)
            {
                chunks.Add((localRow + first, span.Start - firstPosition + first, Math.Min(chunkRows, span.Count - first)));
            }

            localRow += span.Count;
        }

        int bufferRows = chunks.Count == 0 ? 0 : chunks.Max(c => c.Rows);
        byte[] converted = new byte[bufferRows * rowElements * spec.ComputeType.Size()];
        long downloadTicks = 0, storeTicks = 0, started = Stopwatch.GetTimestamp();
        await DoubleBufferPump.RunAsync<float>(result.Device, (long)result.Rows * rowElements, bufferRows * rowElements,
            async (index, buffer) =>
            {
                if (index >= chunks.Count)
                {
                    return 0;
                }

                var destination = buffer[..(chunks[index].Rows * rowElements)];
                long t0 = Stopwatch.GetTimestamp();
                await result.ReadOutputRowsAsync(chunks[index].LocalRow, destination, ct).ConfigureAwait(false);
                downloadTicks += Stopwatch.GetTimestamp() - t0;
                return destination.Length;
            },
            (index, piece) =>
            {
                long t0 = Stopwatch.GetTimestamp();
                var bytes = converted.AsSpan(0, piece.Length * spec.ComputeType.Size());
                ElementConvert.FromSingle(piece.Span, spec.ComputeType, bytes);
                // One positional write per piece: buffered writes to one file serialise on its inode lock, so the
                // shards' writes share about one core's page-cache rate (bench/results/output-path-h200.md).
                file.WriteElements(TensorNames.Output, (long)chunks[index].GlobalRow * rowElements, bytes);
                storeTicks += Stopwatch.GetTimestamp() - t0;
                return Task.CompletedTask;
            }).ConfigureAwait(false);

        double pumped = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (spec.Attention == AttentionKind.Linear)
        {
            return new OutputWriteTimes(pumped, (double)downloadTicks / Stopwatch.Frequency, (double)storeTicks / Stopwatch.Frequency, pumped);
        }

        float[] lse = new float[(long)spec.Heads * result.Rows];
        await result.ReadLseAsync(lse, ct).ConfigureAwait(false);
        int lseRow = 0;
        foreach (var span in plan.OwnQuerySpans)
        {
            for (int head = 0; head < spec.Heads; head++)
            {
                var slice = lse.AsSpan((int)(((long)head * result.Rows) + lseRow), span.Count);
                file.WriteElements(TensorNames.LogSumExp, ((long)head * spec.Queries) + span.Start - firstPosition, MemoryMarshal.AsBytes(slice));
            }

            lseRow += span.Count;
        }

        return new OutputWriteTimes(pumped, (double)downloadTicks / Stopwatch.Frequency, (double)storeTicks / Stopwatch.Frequency,
            Stopwatch.GetElapsedTime(started).TotalSeconds);
    }
}
