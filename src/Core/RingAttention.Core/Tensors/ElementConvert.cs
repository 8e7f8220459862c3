using System.Runtime.CompilerServices;

namespace RingAttention.Tensors;

/// <summary>Scalar conversions between storage types and float32 (round-to-nearest-even on the way down).</summary>
public static class ElementConvert
{
    /// <summary>bfloat16 is the upper half of a float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Round to nearest even; NaN stays NaN (quiet bit forced so it cannot round to infinity).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            return (ushort)((bits >> 16) | 0x0040);
        }

        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort SingleToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>Reads element <paramref name="index"/> of <paramref name="data"/> stored as <paramref name="type"/>.</summary>
    public static float Read(ReadOnlySpan<byte> data, ElementType type, long index) => type switch
    {
        ElementType.F32 => Unsafe.ReadUnaligned<float>(ref Unsafe.AsRef(in data[checked((int)(index * 4))])),
        ElementType.F16 => HalfToSingle(Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in data[checked((int)(index * 2))]))),
        ElementType.BF16 => BFloat16ToSingle(Unsafe.ReadUnaligned<ushort>(ref Unsafe.AsRef(in data[checked((int)(index * 2))]))),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Writes <paramref name="value"/> as element <paramref name="index"/> of <paramref name="data"/>.</summary>
    public static void Write(Span<byte> data, ElementType type, long index, float value)
    {
        switch (type)
        {
            case ElementType.F32:
                Unsafe.WriteUnaligned(ref data[checked((int)(index * 4))], value);
                break;
            case ElementType.F16:
                Unsafe.WriteUnaligned(ref data[checked((int)(index * 2))], SingleToHalf(value));
                break;
            case ElementType.BF16:
                Unsafe.WriteUnaligned(ref data[checked((int)(index * 2))], SingleToBFloat16(value));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>Converts a whole buffer of <paramref name="type"/> elements to float32.</summary>
    public static void ToSingle(ReadOnlySpan<byte> source, ElementType type, Span<float> destination)
    {
        switch (type)
        {
            case ElementType.F32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(source)[..destination.Length].CopyTo(destination);
                break;
            case ElementType.F16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(source);
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)halves[i];
                }

                break;
            case ElementType.BF16:
                var raw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(source);
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BFloat16ToSingle(raw[i]);
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }
    }

    /// <summary>Converts float32 values to <paramref name="type"/> elements.</summary>
    public static void FromSingle(ReadOnlySpan<float> source, ElementType type, Span<byte> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            Write(destination, type, i, source[i]);
        }
    }
}
