using RingAttention.Attention;
using RingAttention.Kernels.Linear;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>Linear attention on host handles: each span widened to float32 once, then <see cref="CpuLinearAttention"/>.</summary>
public sealed partial class CpuAttentionBackend
{
    public IReadOnlyList<LinearState> LinearSpanStates(LinearAttentionSpec spec, DeviceKeyValues keyValues, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var kv = Own<HostKeyValues>(keyValues, nameof(keyValues)).AsBlock();
        var states = new List<LinearState>(kv.Keys.Spans.Count);
        int row = 0;
        foreach (var span in kv.Keys.Spans)
        {
            cancellationToken.ThrowIfCancellationRequested();
            float[] k = Widen(kv.Keys, row, span.Count), v = Widen(kv.Values, row, span.Count);
            states.Add(CpuLinearAttention.LocalState(spec, k, v, span.Count));
            row += span.Count;
        }

        return states;
    }

    public void LinearOutput(LinearAttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, IReadOnlyList<LinearState> incoming,
        DeviceAccumulator output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(incoming);
        var q = Own<HostRows>(queries, nameof(queries)).AsTensorRows();
        var kv = Own<HostKeyValues>(keyValues, nameof(keyValues)).AsBlock();
        var o = Own<HostAccumulator>(output, nameof(output)).Result.Output;
        if (incoming.Count != kv.Keys.Spans.Count || !q.Spans.SequenceEqual(kv.Keys.Spans))
        {
            throw new ArgumentException($"queries, keys and incoming states must cover the same spans ({kv.Keys.Spans.Count}); got {q.Spans.Count} query spans and {incoming.Count} states", nameof(incoming));
        }

        int row = 0, rowElements = spec.Heads * spec.HeadDim;
        for (int j = 0; j < incoming.Count; j++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int count = kv.Keys.Spans[j].Count;
            float[] qj = Widen(q, row, count), k = Widen(kv.Keys, row, count), v = Widen(kv.Values, row, count);
            CpuLinearAttention.Output(spec, qj, k, v, count, incoming[j], o.AsSpan(row * rowElements, count * rowElements));
            row += count;
        }
    }

    /// <summary>Rows [first, first + count) of <paramref name="rows"/> as float32.</summary>
    private static float[] Widen(TensorRows rows, int first, int count)
    {
        int elements = rows.Heads * rows.HeadDim, size = rows.Type.Size();
        float[] result = new float[count * elements];
        ElementConvert.ToSingle(rows.Data.Span.Slice(first * elements * size, count * elements * size), rows.Type, result);
        return result;
    }
}
