namespace RingAttention.Attention;

/// <summary>
/// Work of an attention forward pass: 4 FLOPs per visible (query, key) pair per head per dim (2 for q·k, 2 for p·v),
/// the convention of FlashAttention's benchmarks (4·T²·H·D, halved for causal). Pairs are counted exactly under the
/// mask, so causal gives T(T+1)/2 pairs rather than T²/2 and a window gives what it really computes.
/// </summary>
public static class AttentionFlops
{
    public static double Count(AttentionSpec spec) => 4.0 * VisiblePairs(spec.Tokens, spec.Mask) * spec.Heads * spec.HeadDim;

    /// <summary>Number of (query, key) pairs the mask lets through over a sequence of <paramref name="tokens"/>.</summary>
    public static double VisiblePairs(long tokens, AttentionMask mask)
    {
        if (mask.Window is null)
        {
            return mask.Causal ? tokens * (tokens + 1) / 2.0 : (double)tokens * tokens;
        }

        long w = mask.Window.Value;
        // Causal window: query t sees min(w, t + 1) keys.
        long full = Math.Max(0, tokens - w);
        double causal = (full * (double)w) + Triangle(Math.Min(tokens, w));
        if (mask.Causal)
        {
            return causal;
        }

        // Two-sided window |t - k| < w: the causal part plus its mirror, minus the diagonal counted twice.
        return (2 * causal) - tokens;
    }

    /// <summary>
    /// Pairs the mask lets through for <paramref name="queries"/> queries at global positions from
    /// <paramref name="firstQuery"/> against keys at 0..<paramref name="keys"/>-1 (queries of another length than the
    /// keys): per query p, the keys k with DMin &lt;= p - k &lt;= DMax.
    /// </summary>
    public static double VisiblePairs(long firstQuery, long queries, long keys, AttentionMask mask)
    {
        long dMin = mask.Causal ? 0 : mask.Window is int w ? -(w - 1L) : long.MinValue / 4;
        long dMax = mask.Window is int window ? window - 1L : long.MaxValue / 4;
        double pairs = 0;
        for (long p = firstQuery; p < firstQuery + queries; p++)
        {
            long from = Math.Max(0, p - dMax), to = Math.Min(keys - 1, p - dMin);
            pairs += Math.Max(0, to - from + 1);
        }

        return pairs;
    }

    private static double Triangle(long n) => n * (n + 1) / 2.0;
}
