namespace RingAttention.Tensors;

/// <summary>
/// The first NaN/±Inf of a tensor: its row-major <see cref="FlatIndex"/>, the same position as a
/// multi-dimensional <see cref="Index"/> (e.g. [token, head, dim] for q), and the value as float32.
/// </summary>
public sealed record NonFiniteElement(string Tensor, long FlatIndex, long[] Index, float Value)
{
    /// <summary>"q[17, 3, 100] = NaN".</summary>
    public override string ToString() => $"{Tensor}[{string.Join(", ", Index)}] = {Value}";
}
