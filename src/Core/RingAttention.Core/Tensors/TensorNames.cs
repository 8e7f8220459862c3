namespace RingAttention.Tensors;

/// <summary>
/// The tensor names of RingAttention's files (flash-attn's names): inputs q <c>[T, Hq, D]</c>, k and v
/// <c>[T, Hkv, D]</c>; outputs o <c>[T, Hq, D]</c> and lse <c>[Hq, T]</c>. Defined once, for every assembly.
/// </summary>
public static class TensorNames
{
    public const string Query = "q";
    public const string Key = "k";
    public const string Value = "v";
    public const string Output = "o";
    public const string LogSumExp = "lse";

    /// <summary>Descale factors of FP8 inputs (F32, one value or one per kv head): the value of an element is its
    /// E4M3 value times its head's factor (FlashAttention-3's q_descale / k_descale / v_descale).</summary>
    public const string QueryDescale = "q_descale";
    public const string KeyDescale = "k_descale";
    public const string ValueDescale = "v_descale";

    /// <summary>The descale tensor of input <paramref name="tensor"/> (q, k or v).</summary>
    public static string DescaleOf(string tensor) => tensor + "_descale";
}
