namespace RingAttention.Tensors;

/// <summary>Storage type of a tensor's elements. Compute always accumulates in float32.</summary>
public enum ElementType
{
    F32,
    F16,
    BF16,

    /// <summary>
    /// OCP FP8 E4M3 ("fn": no infinities, NaN = S.1111.111, largest finite 448), an input-only type: q, k and v in it
    /// come with descale factors and are computed on as <see cref="BF16"/>: q dequantised on load (<see cref="Fp8Descale"/>),
    /// a softmax job's K/V kept as codes on the ring and dequantised for each step (<see cref="Fp8KeyValueScales"/>).
    /// </summary>
    F8E4M3,
}

public static class ElementTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this ElementType type) => type switch
    {
        ElementType.F32 => 4,
        ElementType.F16 => 2,
        ElementType.BF16 => 2,
        ElementType.F8E4M3 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>The dtype string safetensors uses in its header ("F32", "F16", "BF16").</summary>
    public static string SafetensorsName(this ElementType type) => type switch
    {
        ElementType.F32 => "F32",
        ElementType.F16 => "F16",
        ElementType.BF16 => "BF16",
        ElementType.F8E4M3 => "F8_E4M3",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    /// <summary>Parses a safetensors dtype string; false for dtypes we do not compute on (I8, F64, ...).</summary>
    public static bool TryParseSafetensors(string name, out ElementType type)
    {
        switch (name)
        {
            case "F32": type = ElementType.F32; return true;
            case "F16": type = ElementType.F16; return true;
            case "BF16": type = ElementType.BF16; return true;
            case "F8_E4M3": type = ElementType.F8E4M3; return true;
            default: type = default; return false;
        }
    }

    /// <summary>
    /// The type attention computes on and writes its output in for inputs of this type: the type itself, except FP8,
    /// which is dequantised to bfloat16 (every E4M3 value is exact in bfloat16; the descale product is rounded once).
    /// </summary>
    public static ElementType ComputeType(this ElementType type) => type == ElementType.F8E4M3 ? ElementType.BF16 : type;

    /// <summary>Parses user text such as "bf16", "float16", "f32".</summary>
    public static bool TryParseUser(string text, out ElementType type)
    {
        switch (text.Trim().ToLowerInvariant())
        {
            case "f32" or "fp32" or "float32" or "float": type = ElementType.F32; return true;
            case "f16" or "fp16" or "float16" or "half": type = ElementType.F16; return true;
            case "bf16" or "bfloat16": type = ElementType.BF16; return true;
            default: type = default; return false;
        }
    }
}
