using System.Numerics;
using System.Runtime.InteropServices;

namespace RingAttention.Tensors;

/// <summary>
/// Finds NaN/±Inf by their raw bits: an IEEE value is non-finite exactly when its exponent field is all ones
/// (F32 0x7F80_0000, F16 0x7C00, BF16 0x7F80). One AND + compare per element, <see cref="Vector{T}"/> wide;
/// clean data is scanned at memory speed and only a vector that holds a hit is re-examined element by element.
/// </summary>
public static class NonFiniteScan
{
    /// <summary>Index (in elements) of the first NaN/±Inf in <paramref name="data"/>, or -1. Trailing partial elements are ignored.</summary>
    public static int IndexOf(ReadOnlySpan<byte> data, ElementType type) => type switch
    {
        ElementType.F32 => IndexOf(MemoryMarshal.Cast<byte, uint>(data), 0x7F80_0000u),
        ElementType.F16 => IndexOf(MemoryMarshal.Cast<byte, ushort>(data), (ushort)0x7C00),
        ElementType.BF16 => IndexOf(MemoryMarshal.Cast<byte, ushort>(data), (ushort)0x7F80),
        // E4M3 (fn) has no infinity; its NaN is every bit of exponent and mantissa set.
        ElementType.F8E4M3 => IndexOf(data, (byte)0x7F),
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown element type"),
    };

    private static int IndexOf<T>(ReadOnlySpan<T> bits, T exponentMask)
        where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && bits.Length >= Vector<T>.Count)
        {
            var mask = new Vector<T>(exponentMask);
            var vectors = MemoryMarshal.Cast<T, Vector<T>>(bits);
            for (int v = 0; v < vectors.Length; v++)
            {
                if (Vector.EqualsAny(vectors[v] & mask, mask))
                {
                    i = v * Vector<T>.Count;
                    break;
                }

                i = (v + 1) * Vector<T>.Count;
            }
        }

        for (; i < bits.Length; i++)
        {
            if ((bits[i] & exponentMask) == exponentMask)
            {
                return i;
            }
        }

        return -1;
    }
}
