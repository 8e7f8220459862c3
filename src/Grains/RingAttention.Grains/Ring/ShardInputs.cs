using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Ring;

/// <summary>Reads one shard's rows of q, k and v: only its own byte ranges of the input file, or its own synthetic rows.</summary>
public static class ShardInputs
{
    public const string Query = "q";
    public const string Key = "k";
    public const string Value = "v";

    public static (TensorRows Queries, KeyValueBlock KeyValues) Load(JobSpec spec, IReadOnlyList<TokenSpan> spans)
    {
        var queries = Rows(spec, spans, Query, spec.Heads);
        var keys = Rows(spec, spans, Key, spec.KvHeads);
        var values = Rows(spec, spans, Value, spec.KvHeads);
        return (queries, new KeyValueBlock(keys, values));
    }

    /// <summary>Wraps K||V bytes received from a peer as the block of <paramref name="spans"/>.</summary>
    public static KeyValueBlock FromBytes(JobSpec spec, IReadOnlyList<TokenSpan> spans, byte[] keysThenValues)
    {
        int half = keysThenValues.Length / 2;
        var memory = keysThenValues.AsMemory();
        return new KeyValueBlock(
            new TensorRows(spec.DType, spec.KvHeads, spec.HeadDim, spans, memory[..half]),
            new TensorRows(spec.DType, spec.KvHeads, spec.HeadDim, spans, memory[half..]));
    }

    private static TensorRows Rows(JobSpec spec, IReadOnlyList<TokenSpan> spans, string name, int heads)
    {
        int rowElements = heads * spec.HeadDim;
        int rowBytes = rowElements * spec.DType.Size();
        int rows = spans.Sum(s => s.Count);
        byte[] data = new byte[checked((long)rows * rowBytes)];
        int offset = 0;
        using var file = spec.InputPath is null ? null : SafetensorsFile.Open(spec.InputPath);
        foreach (var span in spans)
        {
            var destination = data.AsSpan(offset, span.Count * rowBytes);
            if (file is not null)
            {
                file.ReadRows(name, span.Start, span.Count, destination);
            }
            else
            {
                SyntheticTensor.FillRows(spec.SyntheticSeed!.Value, name, spec.DType, rowElements, span.Start, span.Count, destination);
            }

            offset += destination.Length;
        }

        return new TensorRows(spec.DType, heads, spec.HeadDim, spans, data);
    }
}
