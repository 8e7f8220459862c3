namespace RingAttention.Attention;

/// <summary>A run of <paramref name="Count"/> consecutive global sequence positions starting at <paramref name="Start"/>.</summary>
public readonly record struct TokenSpan(int Start, int Count)
{
    public int End => Start + Count;

    public override string ToString() => $"[{Start}, {End})";
}
