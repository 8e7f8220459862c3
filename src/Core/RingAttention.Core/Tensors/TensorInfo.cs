namespace RingAttention.Tensors;

/// <summary>
/// One tensor of a safetensors file: row-major (C order) elements of <see cref="Type"/> stored at
/// <see cref="Offset"/> (absolute, from the start of the file) for <see cref="ByteLength"/> bytes.
/// A "row" is one index of the first dimension: for q [T, Hq, D] a row is one token's Hq·D elements;
/// for lse [Hq, T] a row is one head's T values.
/// </summary>
public sealed record TensorInfo(string Name, ElementType Type, long[] Shape, long Offset, long ByteLength)
{
    /// <summary>Number of elements (1 for a scalar, shape []).</summary>
    public long ElementCount => ShapeMath.ElementCount(Shape);

    /// <summary>Size of the first dimension; 1 for a scalar.</summary>
    public long Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Elements per row: the product of every dimension after the first.</summary>
    public long RowElements => ShapeMath.ElementCount(Shape.AsSpan(Math.Min(1, Shape.Length)));

    /// <summary>Bytes per row: <see cref="RowElements"/> × element size.</summary>
    public long RowBytes => RowElements * Type.Size();

    /// <summary>"q F32 [1024, 32, 128]".</summary>
    public override string ToString() => $"{Name} {Type.SafetensorsName()} {ShapeMath.Format(Shape)}";
}
