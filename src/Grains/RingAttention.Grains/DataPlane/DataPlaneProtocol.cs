namespace RingAttention.Grains.DataPlane;

/// <summary>
/// Wire format of the K/V data plane, one request per TCP connection, in <see cref="DataPlaneFrames"/> (length-prefixed
/// MessagePack messages) around raw chunk bytes:
/// request  = BlockRequest(magic "RAKV", version, token, blockKey)
/// response = BlockStatus [ BlockHeader(totalBytes, chunkSize) { ChunkHeader(index, length, crc32) bytes }* BlockTrailer(crc32 of all) ]
/// (a request with release = true, from a taker that copied the block device to device, is answered by the status alone)
/// Chunks let the receiver verify as it goes and keep a bad transfer from being merged into a result.
/// </summary>
public static class DataPlaneProtocol
{
    public const uint Magic = 0x564B4152; // "RAKV"

    /// <summary>2: frames in MessagePack (1 was hand-encoded little-endian fields).</summary>
    public const byte Version = 3;

    /// <summary>1 MiB chunks: large enough that per-chunk headers and CRC calls cost nothing, small enough to pipeline.</summary>
    public const int ChunkSize = 1 << 20;

    /// <summary>
    /// Largest piece a streamed block moves in between a device and the socket (8 chunks, 8 MiB): big enough for
    /// full-speed device copies, small enough that the copy of one piece overlaps the transfer of the next.
    /// </summary>
    public const int PieceBytes = 8 * ChunkSize;

    public enum Status : byte
    {
        Ok = 0,
        UnknownBlock = 1,
        Unauthorized = 2,
        BadRequest = 3,
    }
}
