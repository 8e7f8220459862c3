using System.IO.Hashing;
using System.Net.Sockets;
using RingAttention.Grains.Transfer;

namespace RingAttention.Grains.DataPlane;

/// <summary>A transfer that did not deliver the announced bytes intact.</summary>
public sealed class DataPlaneException(string message) : IOException(message);

/// <summary>Fetches one K/V block from a peer silo's <see cref="DataPlaneServer"/>, verifying every chunk.</summary>
/// <param name="tls">The cluster's TLS (null: plain TCP, for silos that listen on loopback only).</param>
public sealed class DataPlaneClient(DataPlaneTls? tls = null)
{
    /// <summary>
    /// Reads the block <paramref name="key"/> from <paramref name="endpoint"/> (host:port) into one array holding
    /// K's bytes then V's bytes; throws <see cref="DataPlaneException"/> on a refused, short or corrupt transfer.
    /// </summary>
    public async Task<byte[]> FetchAsync(string endpoint, string token, string key, long expectedBytes, uint expectedChecksum, CancellationToken ct)
    {
        if (expectedBytes > Array.MaxLength)
        {
            throw new DataPlaneException($"block {key} of {expectedBytes} bytes exceeds the {Array.MaxLength}-byte host buffer limit");
        }

        // Every byte is overwritten by a CRC-checked chunk before the array is returned; skipping the zeroing saves a
        // pass over the block.
        byte[] data = GC.AllocateUninitializedArray<byte>((int)expectedBytes);
        await FetchIntoAsync(endpoint, token, key, data, expectedChecksum, ct).ConfigureAwait(false);
        return data;
    }

    /// <summary>
    /// Reads the block <paramref name="key"/> into <paramref name="destination"/>, whose length is the announced size:
    /// for a receiver that reuses its buffers (a fresh multi-MB array costs a page fault per 4 KiB on first touch).
    /// Throws <see cref="DataPlaneException"/> like <see cref="FetchAsync"/>; the destination's contents are then undefined.
    /// </summary>
    /// <returns>The block's CRCs (its chunks' as verified), which travel with it so that forwarding it reads it once.</returns>
    public async Task<BlockCrcs> FetchIntoAsync(string endpoint, string token, string key, Memory<byte> destination, uint expectedChecksum, CancellationToken ct)
    {
        await using var connection = await OpenAsync(endpoint, token, key, ct).ConfigureAwait(false);
        return await ReceiveAsync(connection.Stream, key, destination, expectedChecksum, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Streams the block through the <see cref="DoubleBufferPump"/> in pieces of <paramref name="pieceBytes"/> (rounded
    /// to whole chunks): each piece, once every chunk in it passed its CRC-32, goes to <paramref name="sink"/> (a copy to
    /// the device) while the next piece arrives, so the block is never whole on the host and its upload overlaps its
    /// transfer. The whole block's CRC is checked after the last piece: the caller must not use what the sink wrote
    /// before this returns.
    /// </summary>
    /// <param name="sink">Receives (byte offset in the block, verified bytes); one call at a time, in order.</param>
    /// <param name="device">The sink's device (the piece buffers are page-locked for it), or null.</param>
    /// <returns>The block's CRCs (its chunks' as verified).</returns>
    public async Task<BlockCrcs> FetchStreamingAsync(
        string endpoint, string token, string key, long expectedBytes, uint expectedChecksum, int pieceBytes,
        Func<long, ReadOnlyMemory<byte>, Task> sink, CancellationToken ct, Devices.ComputeDevice? device = null)
    {
        await using var connection = await OpenAsync(endpoint, token, key, ct).ConfigureAwait(false);
        var stream = connection.Stream;
        var (total, chunkSize) = await ReadHeaderAsync(stream, key, expectedBytes, ct).ConfigureAwait(false);
        int pieceLength = (int)Math.Min(total, Math.Max(chunkSize, (long)pieceBytes / chunkSize * chunkSize));
        long offset = 0;
        long sunk = 0;
        int chunkIndex = 0;
        var crcs = new ChunkedCrc();
        await DoubleBufferPump.RunAsync<byte>(device, total, pieceLength,
            async (_, buffer) =>
            {
                // Whole chunks while the next one (at most a chunk, at most what is left) still fits: a piece never splits a chunk.
                int fill = 0;
                while (offset < total && fill + Math.Min(chunkSize, total - offset) <= buffer.Length)
                {
                    var (length, crc) = CheckChunkHeader(
                        await DataPlaneFrames.ReadAsync<ChunkHeader>(stream, ct).ConfigureAwait(false), key, chunkIndex, chunkSize, offset, total);
                    var chunk = buffer.Slice(fill, length);
                    await stream.ReadExactlyAsync(chunk, ct).ConfigureAwait(false);
                    if (Crc32.HashToUInt32(chunk.Span) != crc)
                    {
                        throw new DataPlaneException($"block {key}: chunk {chunkIndex} failed its CRC-32 check");
                    }

                    crcs.AppendChunk(crc, length);
                    fill += length;
                    offset += length;
                    chunkIndex++;
                }

                return fill;
            },
            async (_, piece) =>
            {
                await sink(sunk, piece).ConfigureAwait(false);
                sunk += piece.Length;
            }).ConfigureAwait(false);

        return await CheckTrailerAsync(stream, key, crcs, expectedChecksum, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Tells the sender that the block <paramref name="key"/> was copied another way (device to device from its
    /// process) so that it frees its copy; throws <see cref="DataPlaneException"/> like a fetch when refused.
    /// </summary>
    public async Task ReleaseAsync(string endpoint, string token, string key, CancellationToken ct)
    {
        await using var connection = await OpenAsync(endpoint, token, key, ct, release: true).ConfigureAwait(false);
    }

    /// <summary>An open, accepted request: the socket and the stream over it (TLS or the socket's own).</summary>
    private sealed class Connection(TcpClient client, Stream stream) : IAsyncDisposable
    {
        public Stream Stream { get; } = stream;

        public async ValueTask DisposeAsync()
        {
            await Stream.DisposeAsync().ConfigureAwait(false);
            client.Dispose();
        }
    }

    private async Task<Connection> OpenAsync(string endpoint, string token, string key, CancellationToken ct, bool release = false)
    {
        int colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), out int port))
        {
            throw new DataPlaneException($"data endpoint '{endpoint}' is not host:port");
        }

        var client = new TcpClient { NoDelay = true, ReceiveBufferSize = 4 << 20 };
        try
        {
            await client.ConnectAsync(endpoint[..colon], port, ct).ConfigureAwait(false);
            Stream stream = tls is null ? client.GetStream() : await tls.ConnectAsync(client.GetStream(), endpoint[..colon], ct).ConfigureAwait(false);
            await SendRequestAsync(stream, token, key, release, ct).ConfigureAwait(false);
            DataPlaneProtocol.Status status;
            try
            {
                status = (await DataPlaneFrames.ReadAsync<BlockStatus>(stream, ct).ConfigureAwait(false)).Status;
            }
            catch (EndOfStreamException)
            {
                throw new DataPlaneException($"peer {endpoint} refused block {key}: connection closed");
            }

            if (status != DataPlaneProtocol.Status.Ok)
            {
                throw new DataPlaneException($"peer {endpoint} refused block {key}: {status}");
            }

            return new Connection(client, stream);
        }
        catch (System.Security.Authentication.AuthenticationException e)
        {
            client.Dispose();
            throw new DataPlaneException($"peer {endpoint} failed the cluster's TLS handshake: {e.Message}");
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static Task SendRequestAsync(Stream stream, string token, string key, bool release, CancellationToken ct) =>
        DataPlaneFrames.WriteAsync(stream, new BlockRequest { Magic = DataPlaneProtocol.Magic, Version = DataPlaneProtocol.Version, Token = token, BlockKey = key, Release = release }, ct);

    private static async Task<BlockCrcs> ReceiveAsync(Stream stream, string key, Memory<byte> data, uint expectedChecksum, CancellationToken ct)
    {
        var (total, chunkSize) = await ReadHeaderAsync(stream, key, data.Length, ct).ConfigureAwait(false);
        long offset = 0;
        var crcs = new ChunkedCrc(); // the whole CRC is combined from the verified chunk CRCs (one pass over the data)
        for (int expectedIndex = 0; offset < total; expectedIndex++)
        {
            var (length, crc) = CheckChunkHeader(await DataPlaneFrames.ReadAsync<ChunkHeader>(stream, ct).ConfigureAwait(false), key, expectedIndex, chunkSize, offset, total);
            var chunk = data.Slice((int)offset, length);
            await stream.ReadExactlyAsync(chunk, ct).ConfigureAwait(false);
            if (Crc32.HashToUInt32(chunk.Span) != crc)
            {
                throw new DataPlaneException($"block {key}: chunk {expectedIndex} failed its CRC-32 check");
            }

            crcs.AppendChunk(crc, length);
            offset += length;
        }

        return await CheckTrailerAsync(stream, key, crcs, expectedChecksum, ct).ConfigureAwait(false);
    }

    private static async Task<(long Total, int ChunkSize)> ReadHeaderAsync(Stream stream, string key, long expectedBytes, CancellationToken ct)
    {
        var header = await DataPlaneFrames.ReadAsync<BlockHeader>(stream, ct).ConfigureAwait(false);
        long total = header.TotalBytes;
        int chunkSize = header.ChunkSize;
        if (total != expectedBytes || chunkSize <= 0)
        {
            throw new DataPlaneException($"block {key}: peer sends {total} bytes, announcement said {expectedBytes}");
        }

        return (total, chunkSize);
    }

    private static (int Length, uint Crc) CheckChunkHeader(ChunkHeader chunkHeader, string key, int expectedIndex, int chunkSize, long offset, long total)
    {
        int index = chunkHeader.Index;
        int length = chunkHeader.Length;
        uint crc = chunkHeader.Crc;
        if (index != expectedIndex || length <= 0 || length > chunkSize || offset + length > total)
        {
            throw new DataPlaneException($"block {key}: bad chunk header (index {index}, length {length}) at byte {offset}");
        }

        return (length, crc);
    }

    private static async Task<BlockCrcs> CheckTrailerAsync(Stream stream, string key, ChunkedCrc crcs, uint expectedChecksum, CancellationToken ct)
    {
        var trailer = await DataPlaneFrames.ReadAsync<BlockTrailer>(stream, ct).ConfigureAwait(false);
        var received = crcs.Finish();
        if (received.Whole != expectedChecksum || trailer.Crc != expectedChecksum)
        {
            throw new DataPlaneException($"block {key}: checksum {received.Whole:x8} does not match the announced {expectedChecksum:x8}");
        }

        return received;
    }
}
