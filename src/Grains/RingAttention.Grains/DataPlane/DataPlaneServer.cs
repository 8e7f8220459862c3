using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using RingAttention.Grains.Transfer;

namespace RingAttention.Grains.DataPlane;

/// <summary>
/// The silo's K/V listener: serves each block of the <see cref="BlockStore"/> once, in checksummed chunks, to a peer
/// that presents the job's token. Bound before the silo starts so its port can go into the silo metadata.
/// </summary>
public sealed partial class DataPlaneServer : IAsyncDisposable
{
    private readonly BlockStore _store;
    private readonly TcpListener _listener;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _acceptLoop;
    private readonly RefusalCounter _refusals = new(TimeSpan.FromSeconds(10));

    private readonly DataPlaneTls? _tls;

    /// <param name="tls">The cluster's TLS (null: plain TCP, for silos that listen on loopback only).</param>
    public DataPlaneServer(BlockStore store, IPAddress address, int port, string advertisedHost, DataPlaneTls? tls = null)
    {
        _store = store;
        _tls = tls;
        _listener = new TcpListener(address, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Endpoint = $"{advertisedHost}:{Port}";
    }

    public int Port { get; }

    /// <summary>host:port that peers dial.</summary>
    public string Endpoint { get; }

    /// <summary>Starts serving; the logger arrives here because the socket is bound before the silo's services exist.</summary>
    public void Start(ILogger logger)
    {
        _logger = logger;
        _acceptLoop ??= Task.Run(() => AcceptLoopAsync(_stopping.Token));
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client, ct), CancellationToken.None);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        client.NoDelay = true;
        Stream stream = client.GetStream();
        string key = "?";
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            if (_tls is not null)
            {
                stream = await _tls.AcceptAsync(stream, timeout.Token).ConfigureAwait(false);
            }

            var request = await DataPlaneFrames.ReadAsync<BlockRequest>(stream, timeout.Token).ConfigureAwait(false);
            if (request.Magic != DataPlaneProtocol.Magic || request.Version != DataPlaneProtocol.Version)
            {
                await DataPlaneFrames.WriteAsync(stream, new BlockStatus { Status = DataPlaneProtocol.Status.BadRequest }, timeout.Token).ConfigureAwait(false);
                return;
            }

            key = request.BlockKey;
            var status = Claim(key, request.Token, out var block);
            if (status == DataPlaneProtocol.Status.Ok && request.Release)
            {
                // Freed before the answer, so the asker knows the sender's copy is gone once it hears Ok.
                block!.Block.Release();
                await DataPlaneFrames.WriteAsync(stream, new BlockStatus { Status = status }, timeout.Token).ConfigureAwait(false);
                LogServed(key, 0);
                return;
            }

            await DataPlaneFrames.WriteAsync(stream, new BlockStatus { Status = status }, timeout.Token).ConfigureAwait(false);
            if (status != DataPlaneProtocol.Status.Ok)
            {
                if (_refusals.Refused() is long refused)
                {
                    LogRefused(key, status, refused);
                }

                return;
            }

            // The claimed reference is released on every exit, so a broken connection cannot leak device memory.
            try
            {
                await SendAsync(stream, block!.Block, ct).ConfigureAwait(false);
            }
            finally
            {
                block!.Block.Release();
            }

            LogServed(key, block.Bytes);
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
            // A peer without the cluster certificate: counted and rate-limited like every other refusal.
            if (_refusals.Refused() is long refused)
            {
                LogRefused(key, DataPlaneProtocol.Status.BadRequest, refused);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidDataException or SocketException)
        {
            LogTransferFailed(key, e.Message);
        }
        finally
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private DataPlaneProtocol.Status Claim(string key, string token, out StoredBlock? block)
    {
        block = null;
        if (!_store.TryPeek(key, out var candidate))
        {
            return DataPlaneProtocol.Status.UnknownBlock;
        }

        if (!CryptographicEquals(candidate.Token, token))
        {
            return DataPlaneProtocol.Status.Unauthorized;
        }

        if (!_store.TryTake(key, out block))
        {
            return DataPlaneProtocol.Status.UnknownBlock;
        }

        return DataPlaneProtocol.Status.Ok;
    }

    private static bool CryptographicEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(a), System.Text.Encoding.UTF8.GetBytes(b));

    /// <summary>
    /// Sends a block in checksummed chunks without ever holding it whole on the host. A block in host memory goes out
    /// straight from there; a device block is copied out in pieces of <see cref="DataPlaneProtocol.PieceBytes"/> through
    /// the <see cref="DoubleBufferPump"/>, the next piece's copy running while the current piece's chunks go out. Chunk
    /// CRCs come with the block when they were computed where its bytes last passed the host; else they are computed here.
    /// </summary>
    private static async Task SendAsync(Stream stream, IBlockReference block, CancellationToken ct)
    {
        long total = block.Bytes;
        await DataPlaneFrames.WriteAsync(stream, new BlockHeader { TotalBytes = total, ChunkSize = DataPlaneProtocol.ChunkSize }, ct).ConfigureAwait(false);
        int index = 0;
        async Task WriteChunksAsync(ReadOnlyMemory<byte> bytes)
        {
            for (int offset = 0; offset < bytes.Length; offset += DataPlaneProtocol.ChunkSize)
            {
                var chunk = bytes.Slice(offset, Math.Min(DataPlaneProtocol.ChunkSize, bytes.Length - offset));
                uint crc = block.ChunkChecksums is { } known && index < known.Length ? known[index] : Crc32.HashToUInt32(chunk.Span);
                await DataPlaneFrames.WriteAsync(stream, new ChunkHeader { Index = index++, Length = chunk.Length, Crc = crc }, ct).ConfigureAwait(false);
                await stream.WriteAsync(chunk, ct).ConfigureAwait(false);
            }
        }

        if (block.HostMemory is { } host)
        {
            await WriteChunksAsync(host[..checked((int)total)]).ConfigureAwait(false);
        }
        else
        {
            int pieceBytes = DataPlaneProtocol.PieceBytes;
            await DoubleBufferPump.RunAsync<byte>(block.Device, total, (int)Math.Min(pieceBytes, total),
                async (piece, buffer) =>
                {
                    long start = (long)piece * pieceBytes;
                    int length = (int)Math.Clamp(total - start, 0, buffer.Length);
                    if (length > 0)
                    {
                        await block.CopyToHostAsync(start, buffer[..length], ct).ConfigureAwait(false);
                    }

                    return length;
                },
                (_, bytes) => WriteChunksAsync(bytes)).ConfigureAwait(false);
        }

        await DataPlaneFrames.WriteAsync(stream, new BlockTrailer { Crc = block.Checksum }, ct).ConfigureAwait(false);
        await stream.FlushAsync(ct).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Data plane served block {Key} ({Bytes} bytes)")]
    private partial void LogServed(string key, long bytes);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Data plane refused block {Key}: {Status} ({Refused} refusals since the last warning; at most one warning per 10 s)")]
    private partial void LogRefused(string key, DataPlaneProtocol.Status status, long refused);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Data plane transfer of block {Key} failed: {Reason}")]
    private partial void LogTransferFailed(string key, string reason);
}
