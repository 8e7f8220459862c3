namespace RingAttention.Attention;

/// <summary>
/// Which keys a query may see, by GLOBAL sequence position (never shard-local).
/// Causal: key &lt;= query. Window W with causal: 0 &lt;= query - key &lt; W (flash-attn window (W-1, 0));
/// window W without causal: |query - key| &lt; W (flash-attn window (W-1, W-1)).
/// </summary>
/// <param name="Causal">Keys after the query are hidden.</param>
/// <param name="Window">Sliding window width W (&gt;= 1), or null for no window.</param>
public readonly record struct AttentionMask(bool Causal, int? Window)
{
    public static AttentionMask None => new(false, null);

    public static AttentionMask CausalMask => new(true, null);

    /// <summary>Lowest key position visible to query position <paramref name="q"/> (may be negative: clamp).</summary>
    public long FirstVisibleKey(long q) => Window is int w ? q - w + 1 : long.MinValue;

    /// <summary>Highest key position visible to query position <paramref name="q"/>.</summary>
    public long LastVisibleKey(long q) => Causal ? q : Window is int w ? q + w - 1 : long.MaxValue;

    /// <summary>True when key position <paramref name="k"/> is visible to query position <paramref name="q"/>.</summary>
    public bool IsVisible(long q, long k) => k >= FirstVisibleKey(q) && k <= LastVisibleKey(q);

    public override string ToString() => (Causal, Window) switch
    {
        (false, null) => "none",
        (true, null) => "causal",
        (true, int w) => $"causal+window({w})",
        (false, int w) => $"window({w})",
    };
}
