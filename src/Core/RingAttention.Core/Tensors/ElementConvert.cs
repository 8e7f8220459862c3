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

    /// <summary>FP8 E4M3 (fn) to float32: exact (4 significant bits, exponents 2^-9 to 2^8); 0x7F / 0xFF are NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fp8E4M3ToSingle(byte bits) => Fp8Table[bits];

    /// <summary>
    /// float32 to FP8 E4M3 (fn), round to nearest even; beyond the largest finite value (448) saturates to ±448, as
    /// quantisers do (the format has no infinity); NaN gives 0x7F.
    /// </summary>
    public static byte SingleToFp8E4M3(float value)
    {
        if (float.IsNaN(value))
        {
            return 0x7F;
        }

        byte sign = value < 0 || (value == 0 && float.IsNegative(value)) ? (byte)0x80 : (byte)0;
        float magnitude = Math.Abs(value);
        if (magnitude >= 448f)
        {
            return (byte)(sign | 0x7E);
        }

        // Among the 127 finite magnitudes (increasing with their code), the nearest; a tie goes to the even code.
        int low = 0, high = 0x7E;
        while (high - low > 1)
        {
            int mid = (low + high) >> 1;
            if (Fp8Table[mid] <= magnitude)
            {
                low = mid;
            }
            else
            {
                high = mid;
            }
        }

        float below = magnitude - Fp8Table[low], above = Fp8Table[high] - magnitude;
        int code = below < above ? low : above < below ? high : ((low & 1) == 0 ? low : high);
        return (byte)(sign | code);
    }

    /// <summary>The 256 values of E4M3 (fn): exponent bias 7, subnormals at exponent field 0.</summary>
    private static readonly float[] Fp8Table = BuildFp8Table();

    private static float[] BuildFp8Table()
    {
        var table = new float[256];
        for (int code = 0; code < 256; code++)
        {
            int exponent = (code >> 3) & 0xF, mantissa = code & 7;
            float magnitude = (code & 0x7F) == 0x7F ? float.NaN
                : exponent == 0 ? mantissa / 8f * MathF.Pow(2, -6)
                : (1 + (mantissa / 8f)) * MathF.Pow(2, exponent - 7);
            table[code] = (code & 0x80) != 0 ? -magnitude : magnitude;
        }

        return table;
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
        ElementType.F8E4M3 => Fp8E4M3ToSingle(data[checked((int)index)]),
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
            case ElementType.F8E4M3:
                data[checked((int)index)] = SingleToFp8E4M3(value);
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
            case ElementType.F8E4M3:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = Fp8E4M3ToSingle(source[i]);
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
