namespace RingAttention.Tensors;

/// <summary>
/// One header entry exactly as the file declares it, before any dtype support check.
/// <see cref="Begin"/> and <see cref="End"/> are the JSON "data_offsets", relative to the data section
/// that starts right after the header (absolute offset = <see cref="SafetensorsHeader.DataStart"/> + Begin).
/// </summary>
public sealed record SafetensorsEntry(string Name, string Dtype, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;

    /// <summary>Bytes per element of every safetensors dtype with whole-byte elements; null for others (F4, F6...).</summary>
    public static int? DtypeSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "F8_E8M0" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" or "C64" => 8,
        _ => null,
    };
}
