namespace RingAttention.Kernels;

/// <summary>
/// Running attention result of a block of query rows over the keys seen so far, in float32:
/// <c>output: [rows, heads, headDim]</c> (already normalised) and <c>lse: [heads, rows]</c> (natural log of the
/// softmax denominator, scaled logits). A row that has seen no visible key has lse = -inf and output = 0.
/// </summary>
public sealed class PartialResult
{
    public PartialResult(int rows, int heads, int headDim)
        : this(rows, heads, headDim, initialise: true)
    {
    }

    private PartialResult(int rows, int heads, int headDim, bool initialise)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        Rows = rows;
        Heads = heads;
        HeadDim = headDim;
        Output = GC.AllocateUninitializedArray<float>(checked(rows * heads * headDim));
        Lse = GC.AllocateUninitializedArray<float>(checked(heads * rows));
        if (initialise)
        {
            Reset();
        }
    }

    /// <summary>
    /// A result whose values are about to be overwritten whole (a download of a running result): not cleared first.
    /// A 4096-row partial is 64 MiB, and clearing it twice (the allocator, then <see cref="Reset"/>) before the
    /// download wrote it a third time was part of what an attend of that size spent downloading.
    /// </summary>
    public static PartialResult ToOverwrite(int rows, int heads, int headDim) => new(rows, heads, headDim, initialise: false);

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
