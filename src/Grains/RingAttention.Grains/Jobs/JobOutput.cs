using System.Runtime.InteropServices;
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

    public static void Create(JobSpec spec, string partialPath) =>
        SafetensorsSharedOutput.Create(partialPath,
        [
            (Output, spec.DType, [spec.Tokens, spec.Heads, spec.HeadDim]),
            (LogSumExp, ElementType.F32, [spec.Heads, spec.Tokens]),
        ]);

    /// <summary>Writes a shard's rows of o (converted to the storage dtype) and its slices of every lse row.</summary>
    public static void WriteShard(ShardPlan plan, PartialResult result)
    {
        var spec = plan.Spec;
        using var file = SafetensorsSharedOutput.OpenForWrite(plan.PartialOutputPath);
        int rowElements = spec.Heads * spec.HeadDim;
        // Converted and written a few MiB at a time: a whole converted copy of o would add its size to the shard's peak.
        int chunkRows = Math.Max(1, (4 << 20) / (rowElements * spec.DType.Size()));
        byte[] converted = new byte[chunkRows * rowElements * spec.DType.Size()];
        int localRow = 0;
        foreach (var span in plan.OwnSpans)
        {
            for (int first = 0; first < span.Count; first += chunkRows)
            {
                int rows = Math.Min(chunkRows, span.Count - first);
                var source = result.Output.AsSpan((localRow + first) * rowElements, rows * rowElements);
                var bytes = converted.AsSpan(0, source.Length * spec.DType.Size());
                ElementConvert.FromSingle(source, spec.DType, bytes);
                file.WriteElements(Output, (long)(span.Start + first) * rowElements, bytes);
            }

            for (int head = 0; head < spec.Heads; head++)
            {
                var lse = result.Lse.AsSpan((head * result.Rows) + localRow, span.Count);
                file.WriteElements(LogSumExp, ((long)head * spec.Tokens) + span.Start, MemoryMarshal.AsBytes(lse));
            }

            localRow += span.Count;
        }
    }
}
