namespace RingAttention.Kernels;

/// <summary>
/// Running attention result of a block of query rows over the keys seen so far, in float32:
/// <c>output: [rows, heads, headDim]</c> (already normalised) and <c>lse: [heads, rows]</c> (natural log of the
/// softmax denominator, scaled logits). A row that has seen no visible key has lse = -inf and output = 0.
/// </summary>
public sealed class PartialResult
{
    public PartialResult(int rows, int heads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        Rows = rows;
        Heads = heads;
        HeadDim = headDim;
        Output = new float[(long)rows * heads * headDim];
        Lse = new float[(long)heads * rows];
        Reset();
    }

    public int Rows { get; }

    public int Heads { get; }

    public int HeadDim { get; }

    public float[] Output { get; }

    public float[] Lse { get; }

    /// <summary>Back to "no key seen": output 0, lse -inf.</summary>
    public void Reset()
    {
        Array.Clear(Output);
        Array.Fill(Lse, float.NegativeInfinity);
    }
}
