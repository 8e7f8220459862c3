using System.IO.Hashing;
using RingAttention.Kernels;

namespace RingAttention.Grains.DataPlane;

/// <summary>CRC-32 (IEEE, vectorised in System.IO.Hashing) of a block's K bytes followed by its V bytes.</summary>
public static class BlockChecksum
{
    public static uint Compute(KeyValueBlock block)
    {
        var crc = new Crc32();
        crc.Append(block.Keys.Data.Span);
        crc.Append(block.Values.Data.Span);
        return crc.GetCurrentHashAsUInt32();
    }
}
