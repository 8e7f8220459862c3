using System.Runtime.InteropServices;
using RingAttention.Grains.Ring;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// The job's output file: o [tokens, heads, headDim] in the input dtype and lse [heads, tokens] F32. Shards write
/// their rows into a temp file beside the output; the coordinator renames it when every shard is done.
/// </summary>
public static class JobOutput
{
    public const string Output = "o";
    public const string LogSumExp = "lse";

    public static string PartialPath(string outputPath, string jobId, long attempt) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, $".{Path.GetFileName(outputPath)}.{jobId}.{attempt}.partial");

    /// <summary>Creates the attempt's temp file, its header saying what is computed (<see cref="OutputMetadata"/>); the
    /// returned handle is held by the coordinator until the attempt ends.</summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle Create(JobSpec spec, string jobId, string partialPath) =>
        SafetensorsSharedOutput.Create(partialPath,
        [
            (Output, spec.DType, [spec.Tokens, spec.Heads, spec.HeadDim]),
            (LogSumExp, ElementType.F32, [spec.Heads, spec.Tokens]),
        ], OutputMetadata.For(spec, jobId));

    /// <summary>
    /// Writes a shard's rows of o (converted to the storage dtype) and its slices of every lse row. o travels in
    /// chunks of rows through two reused float buffers: the next chunk is read (downloaded from the device) while the
    /// current one is converted and written, so neither a device result nor a converted copy is ever whole on the host.
    /// </summary>
    public static async Task WriteShardAsync(ShardPlan plan, IShardResult result, int chunkBytes, CancellationToken ct)
    {
        var spec = plan.Spec;
        using var file = SafetensorsSharedOutput.OpenForWrite(plan.PartialOutputPath);
        int rowElements = spec.Heads * spec.HeadDim;
        int chunkRows = Math.Max(1, chunkBytes / (rowElements * sizeof(float)));
        var chunks = new List<(long LocalRow, int GlobalRow, int Rows)>();
        long localRow = 0;
        foreach (var span in plan.OwnSpans)
        {
            for (int first = 0; first < span.Count; first += chunkRows)
            {
                chunks.Add((localRow + first, span.Start + first, Math.Min(chunkRows, span.Count - first)));
            }

            localRow += span.Count;
        }

        if (chunks.Count > 0)
        {
            int bufferRows = chunks.Max(c => c.Rows);
            using var first = result.AllocateStaging(bufferRows * rowElements);
            using var second = result.AllocateStaging(chunks.Count > 1 ? bufferRows * rowElements : 0);
            float[][] floats = [first.Array, second.Array];
            byte[] converted = new byte[bufferRows * rowElements * spec.DType.Size()];
            Task Read(int index) => result.ReadOutputRowsAsync(chunks[index].LocalRow, floats[index % 2].AsMemory(0, chunks[index].Rows * rowElements), ct);
            var reading = Read(0);
            for (int index = 0; index < chunks.Count; index++)
            {
                await reading.ConfigureAwait(false);
                if (index + 1 < chunks.Count)
                {
                    reading = Read(index + 1);
                }

                var (_, globalRow, rows) = chunks[index];
                var source = floats[index % 2].AsSpan(0, rows * rowElements);
                var bytes = converted.AsSpan(0, source.Length * spec.DType.Size());
                try
                {
                    ElementConvert.FromSingle(source, spec.DType, bytes);
                    file.WriteElements(Output, (long)globalRow * rowElements, bytes);
                }
                catch
                {
                    await reading.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
                    throw;
                }
            }
        }

        float[] lse = new float[(long)spec.Heads * result.Rows];
        await result.ReadLseAsync(lse, ct).ConfigureAwait(false);
        int lseRow = 0;
        foreach (var span in plan.OwnSpans)
        {
            for (int head = 0; head < spec.Heads; head++)
            {
                var slice = lse.AsSpan((int)(((long)head * result.Rows) + lseRow), span.Count);
                file.WriteElements(LogSumExp, ((long)head * spec.Tokens) + span.Start, MemoryMarshal.AsBytes(slice));
            }

            lseRow += span.Count;
        }
    }
}
