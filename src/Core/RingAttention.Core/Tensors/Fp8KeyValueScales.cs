namespace RingAttention.Tensors;

/// <summary>
/// The descale factors of K/V blocks kept as FP8 (e4m3) codes on the ring: element e of kv head h stands for
/// <c>e4m3(e) · Keys[h]</c> in K and <c>e4m3(e) · Values[h]</c> in V. Blocks travel and stay resident in FP8 (half the
/// bytes of bfloat16) and are dequantised to bfloat16 for each step's kernel with the arithmetic of
/// <see cref="Fp8Descale.Dequantise"/> (one float32 product, rounded to nearest even once), so a job gives the same
/// bits as one whose K/V were dequantised on load.
/// </summary>
public sealed record Fp8KeyValueScales(float[] Keys, float[] Values)
{
    /// <summary>The problem with these factors for <paramref name="kvHeads"/> kv heads, naming the field, or null.</summary>
    public (string Field, string Reason)? Problem(int kvHeads)
    {
        foreach (var (field, factors) in new[] { ("k_descale", Keys), ("v_descale", Values) })
        {
            if (factors is null || factors.Length != kvHeads)
            {
                return (field, $"{factors?.Length ?? 0} factors for {kvHeads} kv heads; one per kv head");
            }

            int bad = Array.FindIndex(factors, f => !float.IsFinite(f) || f <= 0);
            if (bad >= 0)
            {
                return (field, $"factor {bad} is {factors[bad]}; descale factors must be finite and greater than 0");
            }
        }

        return null;
    }
}
