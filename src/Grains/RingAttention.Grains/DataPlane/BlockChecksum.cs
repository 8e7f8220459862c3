using RingAttention.Kernels;

namespace RingAttention.Grains.DataPlane;

/// <summary>CRC-32 (IEEE, vectorised in System.IO.Hashing) of a block's K bytes followed by its V bytes.</summary>
public static class BlockChecksum
{
    /// <summary>The reflected IEEE polynomial (the one System.IO.Hashing.Crc32 uses).</summary>
    private const uint Polynomial = 0xEDB88320;

    /// <summary>x^(2^k) modulo the polynomial, k = 0..31 (zlib's x2n_table).</summary>
    private static readonly uint[] PowersOfX = BuildPowersOfX();

    /// <summary>The block's CRC-32 and its chunk CRCs (K's bytes then V's, cut into data-plane chunks across the boundary).</summary>
    public static BlockCrcs Compute(KeyValueBlock block)
    {
        var crc = new ChunkedCrc();
        crc.Append(block.Keys.Data.Span);
        crc.Append(block.Values.Data.Span);
        return crc.Finish();
    }

    /// <summary>
    /// CRC-32 of A followed by B from CRC-32(A), CRC-32(B) and B's length (zlib's crc32_combine), without reading
    /// the bytes: lets a receiver that verified every chunk's CRC get the whole block's CRC in O(log length) per chunk
    /// instead of a second pass over the block.
    /// </summary>
    public static uint Combine(uint first, uint second, long secondLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(secondLength);
        return MultiplyModP(PowerOfX(secondLength), first) ^ second;
    }

    /// <summary>a(x) * b(x) modulo the polynomial, bit-reflected (bit 31 is x^0).</summary>
    private static uint MultiplyModP(uint a, uint b)
    {
        uint m = 1u << 31;
        uint product = 0;
        while (true)
        {
            if ((a & m) != 0)
            {
                product ^= b;
                if ((a & (m - 1)) == 0)
                {
                    return product;
                }
            }

            m >>= 1;
            b = (b & 1) != 0 ? (b >> 1) ^ Polynomial : b >> 1;
        }
    }

    /// <summary>x^(8 * bytes) modulo the polynomial: the shift that appending <paramref name="bytes"/> bytes applies.</summary>
    private static uint PowerOfX(long bytes)
    {
        uint power = 1u << 31; // x^0
        for (int k = 3; bytes != 0; bytes >>= 1, k++)
        {
            if ((bytes & 1) != 0)
            {
                power = MultiplyModP(PowersOfX[k & 31], power);
            }
        }

        return power;
    }

    private static uint[] BuildPowersOfX()
    {
        var table = new uint[32];
        uint p = 1u << 30; // x^1
        table[0] = p;
        for (int n = 1; n < table.Length; n++)
        {
            table[n] = p = MultiplyModP(p, p);
        }

        return table;
    }
}
