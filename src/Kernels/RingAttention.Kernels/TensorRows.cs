using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels;

/// <summary>
/// Some rows of a q, k or v tensor, held in their storage type: <c>data: [rows, heads, headDim]</c>, row-major.
/// Rows sit at GLOBAL sequence positions given by <see cref="Spans"/>, laid out span after span
/// (a zigzag shard has two spans, a contiguous one has one).
/// </summary>
public sealed class TensorRows
{
    public TensorRows(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans, ReadOnlyMemory<byte> data)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        Type = type;
        Heads = heads;
        HeadDim = headDim;
        Spans = spans;
        Rows = spans.Sum(s => s.Count);
        long expected = (long)Rows * heads * headDim * type.Size();
        if (data.Length != expected)
        {
            throw new ArgumentException($"data holds {data.Length} bytes but {Rows} rows x {heads} heads x {headDim} dims of {type} need {expected}", nameof(data));
        }

        Data = data;
    }

    public ElementType Type { get; }

    public int Heads { get; }

    public int HeadDim { get; }

    public IReadOnlyList<TokenSpan> Spans { get; }

    public int Rows { get; }

    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Bytes per row (all heads of one token).</summary>
    public int RowBytes => Heads * HeadDim * Type.Size();
}
