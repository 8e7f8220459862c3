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
}
