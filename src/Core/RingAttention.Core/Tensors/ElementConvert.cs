using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    /// <summary>
    /// Converts float32 values to <paramref name="type"/> elements, bit-for-bit as <see cref="Write"/> does. Vectorised
    /// for bfloat16 and spread over cores for large buffers: writing a shard's output converts every element it has (a
    /// scalar loop took most of the 1M-token job's output time).
    /// </summary>
    public static void FromSingle(ReadOnlySpan<float> source, ElementType type, Span<byte> destination)
    {
        switch (type)
        {
            case ElementType.F32:
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(source).CopyTo(destination);
                return;
            case ElementType.F16 or ElementType.BF16:
                ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, source.Length * 2, nameof(destination));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type));
        }

        var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(destination)[..source.Length];
        if (source.Length < ParallelElements)
        {
            Narrow(source, type, halves);
            return;
        }

        unsafe
        {
            fixed (float* from = source)
            fixed (ushort* to = halves)
            {
                nint fromAddress = (nint)from, toAddress = (nint)to;
                int length = source.Length;
                int pieces = (length + ParallelElements - 1) / ParallelElements;
                Parallel.For(0, pieces, piece =>
                {
                    int first = piece * ParallelElements;
                    int count = Math.Min(ParallelElements, length - first);
                    Narrow(new ReadOnlySpan<float>((float*)fromAddress + first, count), type, new Span<ushort>((ushort*)toAddress + first, count));
                });
            }
        }
    }

    /// <summary>Elements per parallel piece of <see cref="FromSingle"/> (1 MiB of float32).</summary>
    private const int ParallelElements = 1 << 18;

    private static void Narrow(ReadOnlySpan<float> source, ElementType type, Span<ushort> destination)
    {
        int i = 0;
        if (type == ElementType.BF16 && Vector256.IsHardwareAccelerated)
        {
            var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, uint>(source);
            for (; i + 16 <= source.Length; i += 16)
            {
                var low = BFloat16Round(Vector256.Create(bits.Slice(i, 8)));
                var high = BFloat16Round(Vector256.Create(bits.Slice(i + 8, 8)));
                Vector256.Narrow(low, high).StoreUnsafe(ref destination[i]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = type == ElementType.BF16 ? SingleToBFloat16(source[i]) : SingleToHalf(source[i]);
        }
    }

    /// <summary><see cref="SingleToBFloat16"/> on 8 lanes (result in the low 16 bits of each).</summary>
    private static Vector256<uint> BFloat16Round(Vector256<uint> bits)
    {
        var isNaN = Vector256.GreaterThan(bits & Vector256.Create(0x7FFF_FFFFu), Vector256.Create(0x7F80_0000u));
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256.Create(1u))) >> 16;
        var quiet = (bits >> 16) | Vector256.Create(0x0040u);
        return Vector256.ConditionalSelect(isNaN, quiet, rounded);
    }
}
