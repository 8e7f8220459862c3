using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace RingAttention.Tensors;

/// <summary>
/// Deterministic standard-normal test data, N(0, 1), addressable by element: any shard can generate any
/// row range of any tensor on its own and get exactly the values the whole tensor would hold there.
/// Element <c>i</c> of tensor <c>name</c> under <c>seed</c> is a pure function of (seed, name, i):
/// <code>
/// key  = SplitMix64(seed ^ FNV-1a-64(UTF-8 name))
/// h    = SplitMix64(key + (i / 2 + 1) · 0x9E3779B97F4A7C15)      // counter-based: the i/2-th SplitMix64 output
/// u1   = ((h >> 32) + 1) / 2^32  ∈ (0, 1],   u2 = (h mod 2^32) / 2^32  ∈ [0, 1)
/// x[i] = sqrt(-2 ln u1) · (i even ? cos : sin)(2π u2)              // Box-Muller; one pair per two elements
/// </code>
/// Computed in float64 and rounded once to float32 (then to F16/BF16 by round-to-nearest-even), so values are
/// identical on every run of one platform; |x| ≤ 6.7. Cost is about 10–20 ns per element and core.
/// </summary>
public static class SyntheticTensor
{
    private const ulong Golden = 0x9E37_79B9_7F4A_7C15;
    private const double TwoPow32Inverse = 1.0 / 4294967296.0;

    /// <summary>Writes elements [firstElement, firstElement + destination.Length) of tensor <paramref name="name"/>.</summary>
    public static void Fill(long seed, string name, long firstElement, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstElement);
        ulong key = Key(seed, name);
        int i = 0;
        if ((firstElement & 1) == 1 && destination.Length > 0)
        {
            destination[i++] = Odd(key, firstElement);
        }

        for (; i + 1 < destination.Length; i += 2)
        {
            destination[i] = (float)Pair(key, (ulong)(firstElement + i) >> 1, out double odd);
            destination[i + 1] = (float)odd;
        }

        if (i < destination.Length)
        {
            destination[i] = (float)Pair(key, (ulong)(firstElement + i) >> 1, out _);
        }
    }

    /// <summary>
    /// Writes rows [firstRow, firstRow + rowCount) of a tensor whose rows hold <paramref name="rowElements"/>
    /// elements (q [T, Hq, D]: Hq·D), stored as <paramref name="type"/>, into the start of <paramref name="destination"/>.
    /// </summary>
    public static void FillRows(long seed, string name, ElementType type, int rowElements, int firstRow, int rowCount, Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rowElements);
        ArgumentOutOfRangeException.ThrowIfNegative(firstRow);
        ArgumentOutOfRangeException.ThrowIfNegative(rowCount);
        long count = (long)rowElements * rowCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, count * type.Size(), nameof(destination));
        long first = (long)rowElements * firstRow;
        if (type == ElementType.F32)
        {
            Fill(seed, name, first, MemoryMarshal.Cast<byte, float>(destination)[..(int)count]);
            return;
        }

        var halves = MemoryMarshal.Cast<byte, ushort>(destination);
        Span<float> chunk = stackalloc float[1024];
        for (int done = 0; done < count; done += chunk.Length)
        {
            var values = chunk[..(int)Math.Min(chunk.Length, count - done)];
            Fill(seed, name, first + done, values);
            for (int j = 0; j < values.Length; j++)
            {
                halves[done + j] = type == ElementType.F16 ? ElementConvert.SingleToHalf(values[j]) : ElementConvert.SingleToBFloat16(values[j]);
            }
        }
    }

    /// <summary>
    /// <see cref="FillRows"/> on every core: the rows in blocks of about 256K elements, each a pure function of its
    /// position, so the bytes are the same as one thread's (a 1M-token shard's q, k and v are 6.4G elements: ~100 s on
    /// one core).
    /// </summary>
    public static void FillRowsParallel(long seed, string name, ElementType type, int rowElements, int firstRow, int rowCount, Memory<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rowElements, 1);
        int rowsPerBlock = Math.Max(1, (1 << 18) / rowElements);
        int blocks = (rowCount + rowsPerBlock - 1) / rowsPerBlock;
        int rowBytes = rowElements * type.Size();
        Parallel.For(0, blocks, block =>
        {
            int first = block * rowsPerBlock, count = Math.Min(rowsPerBlock, rowCount - first);
            FillRows(seed, name, type, rowElements, firstRow + first, count, destination.Span.Slice(first * rowBytes, count * rowBytes));
        });
    }

    private static float Odd(ulong key, long element)
    {
        Pair(key, (ulong)element >> 1, out double odd);
        return (float)odd;
    }

    /// <summary>Both Box-Muller outputs of pair <paramref name="pair"/>: returns the cos one (even element), gives the sin one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Pair(ulong key, ulong pair, out double odd)
    {
        ulong h = Mix(key + (pair + 1) * Golden);
        double u1 = ((h >> 32) + 1) * TwoPow32Inverse;
        double u2 = (uint)h * TwoPow32Inverse;
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        var (sin, cos) = Math.SinCos(2.0 * Math.PI * u2);
        odd = r * sin;
        return r * cos;
    }

    private static ulong Key(long seed, string name)
    {
        ulong hash = 0xCBF2_9CE4_8422_2325;
        foreach (byte b in Encoding.UTF8.GetBytes(name))
        {
            hash = (hash ^ b) * 0x0000_0100_0000_01B3;
        }

        return Mix((ulong)seed ^ hash);
    }

    /// <summary>SplitMix64's output function (Steele, Lea, Flood 2014).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB;
        return z ^ (z >> 31);
    }
}
