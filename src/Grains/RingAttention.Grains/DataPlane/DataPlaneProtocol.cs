using System.Buffers.Binary;
using System.Text;
using RingAttention.Kernels;

namespace RingAttention.Grains.DataPlane;

/// <summary>
/// Wire format of the K/V data plane (one request per TCP connection, little-endian):
/// request  = "RAKV" u8:version str:token str:blockKey            (str = u16 length + UTF-8)
/// response = u8:status [ i64:totalBytes i32:chunkSize { i32:index i32:length u32:crc32 bytes }* u32:crc32(all) ]
/// Chunks let the receiver verify as it goes and keep a bad transfer from being merged into a result.
/// </summary>
public static class DataPlaneProtocol
{
    public const uint Magic = 0x564B4152; // "RAKV"

    public const byte Version = 1;

    /// <summary>1 MiB chunks: large enough that per-chunk headers and CRC calls cost nothing, small enough to pipeline.</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>
    /// Largest piece a streamed block moves in between a device and the socket (8 chunks, 8 MiB): big enough for
    /// full-speed device copies, small enough that the copy of one piece overlaps the transfer of the next.
    /// </summary>
    public const int PieceBytes = 8 * ChunkSize;

    public const int MaxStringBytes = 1024;

    public enum Status : byte
    {
        Ok = 0,
        UnknownBlock = 1,
        Unauthorized = 2,
        BadRequest = 3,
    }

    /// <summary>A block's chunks in wire order: K's bytes in <see cref="ChunkSize"/> pieces, then V's.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Chunks(KeyValueBlock block)
    {
        foreach (var part in new[] { block.Keys.Data, block.Values.Data })
        {
            for (int offset = 0; offset < part.Length; offset += ChunkSize)
            {
                yield return part.Slice(offset, Math.Min(ChunkSize, part.Length - offset));
            }
        }
    }

    public static async Task WriteStringAsync(Stream stream, string value, CancellationToken ct)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        if (bytes.Length > MaxStringBytes)
        {
            throw new ArgumentException($"string of {bytes.Length} bytes exceeds {MaxStringBytes}", nameof(value));
        }

        byte[] frame = new byte[2 + bytes.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(frame, (ushort)bytes.Length);
        bytes.CopyTo(frame, 2);
        await stream.WriteAsync(frame, ct).ConfigureAwait(false);
    }

    public static async Task<string> ReadStringAsync(Stream stream, CancellationToken ct)
    {
        byte[] lengthBytes = new byte[2];
        await stream.ReadExactlyAsync(lengthBytes, ct).ConfigureAwait(false);
        int length = BinaryPrimitives.ReadUInt16LittleEndian(lengthBytes);
        if (length > MaxStringBytes)
        {
            throw new InvalidDataException($"string of {length} bytes exceeds {MaxStringBytes}");
        }

        byte[] bytes = new byte[length];
        await stream.ReadExactlyAsync(bytes, ct).ConfigureAwait(false);
        return Encoding.UTF8.GetString(bytes);
    }
}
