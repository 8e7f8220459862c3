using System.Buffers.Binary;
using MessagePack;

namespace RingAttention.Grains.DataPlane;

/// <summary>The request that opens a connection: which block, and the job's token that proves the right to it.</summary>
[MessagePackObject]
public sealed class BlockRequest
{
    [Key(0)] public uint Magic { get; set; }

    [Key(1)] public byte Version { get; set; }

    [Key(2)] public string Token { get; set; } = "";

    [Key(3)] public string BlockKey { get; set; } = "";

    /// <summary>
    /// True: the taker has already copied the block another way (device to device from another process of the host,
    /// CUDA IPC) and asks the sender to let it go; the answer is a status and no bytes.
    /// </summary>
    [Key(4)] public bool Release { get; set; }
}

/// <summary>The answer to a request: Ok, then the block follows (unless it was a release); anything else ends the connection.</summary>
[MessagePackObject]
public sealed class BlockStatus
{
    [Key(0)] public DataPlaneProtocol.Status Status { get; set; }
}

/// <summary>What follows an Ok: the block's size and the chunk size its pieces use.</summary>
[MessagePackObject]
public sealed class BlockHeader
{
    [Key(0)] public long TotalBytes { get; set; }

    [Key(1)] public int ChunkSize { get; set; }
}

/// <summary>Before each chunk's bytes: its index, its length and the CRC-32 of exactly those bytes.</summary>
[MessagePackObject]
public sealed class ChunkHeader
{
    [Key(0)] public int Index { get; set; }

    [Key(1)] public int Length { get; set; }

    [Key(2)] public uint Crc { get; set; }
}

/// <summary>After the last chunk: the CRC-32 of the whole block (the announcement's checksum).</summary>
[MessagePackObject]
public sealed class BlockTrailer
{
    [Key(0)] public uint Crc { get; set; }
}

/// <summary>
/// Frames on the data plane's stream: a 2-byte little-endian length, then one MessagePack message of the frame's type.
/// The length lets a reader take exactly one frame from a stream that continues with raw chunk bytes (a MessagePack
/// stream reader would read ahead into them); frames are small, so more than <see cref="MaxFrameBytes"/> is refused.
/// </summary>
public static class DataPlaneFrames
{
    public const int MaxFrameBytes = 4096;

    private static readonly MessagePackSerializerOptions Options =
        MessagePackSerializerOptions.Standard.WithSecurity(MessagePackSecurity.UntrustedData);

    public static async Task WriteAsync<T>(Stream stream, T frame, CancellationToken ct)
    {
        byte[] body = MessagePackSerializer.Serialize(frame, Options, ct);
        byte[] framed = new byte[2 + body.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(framed, checked((ushort)body.Length));
        body.CopyTo(framed, 2);
        await stream.WriteAsync(framed, ct).ConfigureAwait(false);
    }

    public static async Task<T> ReadAsync<T>(Stream stream, CancellationToken ct)
    {
        byte[] length = new byte[2];
        await stream.ReadExactlyAsync(length, ct).ConfigureAwait(false);
        int bytes = BinaryPrimitives.ReadUInt16LittleEndian(length);
        if (bytes > MaxFrameBytes)
        {
            throw new InvalidDataException($"a {typeof(T).Name} frame of {bytes} bytes exceeds {MaxFrameBytes}");
        }

        byte[] body = new byte[bytes];
        await stream.ReadExactlyAsync(body, ct).ConfigureAwait(false);
        try
        {
            return MessagePackSerializer.Deserialize<T>(body, Options, ct);
        }
        catch (MessagePackSerializationException e)
        {
            throw new InvalidDataException($"a malformed {typeof(T).Name} frame: {e.Message}", e);
        }
    }
}
