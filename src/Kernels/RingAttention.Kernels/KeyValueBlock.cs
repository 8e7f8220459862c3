namespace RingAttention.Kernels;

/// <summary>K and V rows of the same positions: <c>keys, values: [rows, kvHeads, headDim]</c>. Immutable once built.</summary>
public sealed class KeyValueBlock
{
    public KeyValueBlock(TensorRows keys, TensorRows values)
    {
        if (keys.Rows != values.Rows || keys.Heads != values.Heads || keys.HeadDim != values.HeadDim || keys.Type != values.Type
            || !keys.Spans.SequenceEqual(values.Spans))
        {
            throw new ArgumentException("keys and values must have the same spans, heads, headDim and type", nameof(values));
        }

        Keys = keys;
        Values = values;
    }

    public TensorRows Keys { get; }

    public TensorRows Values { get; }

    public long Bytes => Keys.Data.Length + Values.Data.Length;
}
