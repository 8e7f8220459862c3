using System.Net;
using System.Net.Sockets;
using RingAttention.Attention;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Ring;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

/// <summary>The K/V data plane over real loopback sockets: intact delivery, one consumer, refusal, corruption detected.</summary>
public sealed class DataPlaneTests : IAsyncLifetime
{
    private readonly BlockStore _store = new();
    private readonly RingAttention.Grains.Devices.ComputeDevice _device = new(new RingAttention.Kernels.Cpu.CpuAttentionBackend());
    private DataPlaneServer _server = null!;

    public Task InitializeAsync()
    {
        _server = new DataPlaneServer(_store, IPAddress.Loopback, 0, "127.0.0.1");
        _server.Start(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _device.Dispose();
    }

    /// <summary>Publishes a host block as the ring does (in its backend's memory, with its CRCs); returns its checksum.</summary>
    private uint Publish(string key, KeyValueBlock block)
    {
        var published = ResidentBlock.Upload(_device, block);
        _store.Put(key, new StoredBlock("job", 1, "secret", published));
        return published.Checksum;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3000)]
    [InlineData(40_961)] // 1.25 MiB + 32 B per tensor: full and partial chunks of K then V, whole CRC combined across them
    public async Task Fetch_PublishedBlock_ArrivesIntactAndOnlyOnce(int rows)
    {
        var block = Block(rows, seed: rows);
        uint checksum = Publish("b", block);
        var client = new DataPlaneClient();

        byte[] bytes = await client.FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None);

        Assert.Equal(block.Keys.Data.ToArray().Concat(block.Values.Data.ToArray()), bytes);
        Assert.Equal(0, _store.Count);
        var again = await Assert.ThrowsAsync<DataPlaneException>(() =>
            client.FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None));
        Assert.Contains("UnknownBlock", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_WrongToken_RefusedAndBlockKept()
    {
        var block = Block(10, seed: 1);
        Publish("b", block);

        var error = await Assert.ThrowsAsync<DataPlaneException>(() =>
            new DataPlaneClient().FetchAsync(_server.Endpoint, "guess", "b", block.Bytes, 0, CancellationToken.None));

        Assert.Contains("Unauthorized", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, _store.Count);
    }

    [Fact]
    public async Task Fetch_ChecksumDiffersFromAnnouncement_Throws()
    {
        var block = Block(10, seed: 2);
        uint checksum = Publish("b", block);

        var error = await Assert.ThrowsAsync<DataPlaneException>(() =>
            new DataPlaneClient().FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum ^ 1, CancellationToken.None));

        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_CorruptChunkFromPeer_Throws()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var peer = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            await DataPlaneFrames.ReadAsync<BlockRequest>(stream, default);
            await DataPlaneFrames.WriteAsync(stream, new BlockStatus { Status = DataPlaneProtocol.Status.Ok }, default);
            await DataPlaneFrames.WriteAsync(stream, new BlockHeader { TotalBytes = 4, ChunkSize = DataPlaneProtocol.ChunkSize }, default);
            await DataPlaneFrames.WriteAsync(stream, new ChunkHeader { Index = 0, Length = 4, Crc = 12345 }, default); // wrong CRC for the 4 bytes that follow
            await stream.WriteAsync(new byte[4]);
        });

        var error = await Assert.ThrowsAsync<DataPlaneException>(() =>
            new DataPlaneClient().FetchAsync($"127.0.0.1:{port}", "t", "b", 4, 0, CancellationToken.None));

        Assert.Contains("CRC", error.Message, StringComparison.Ordinal);
        await peer;
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(0, 1)]
    [InlineData(7, 1)]
    [InlineData(1 << 20, 333)]
    [InlineData(12_345, 1 << 20)]
    public void Combine_EqualsChecksumOfConcatenation(int firstLength, int secondLength)
    {
        byte[] bytes = new byte[firstLength + secondLength];
        new Random(firstLength ^ secondLength).NextBytes(bytes);
        uint first = System.IO.Hashing.Crc32.HashToUInt32(bytes.AsSpan(0, firstLength));
        uint second = System.IO.Hashing.Crc32.HashToUInt32(bytes.AsSpan(firstLength));

        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(bytes), BlockChecksum.Combine(first, second, secondLength));
    }

    /// <summary>
    /// A device-resident block (here: bytes behind the same interface the ring's device blocks implement) streams out
    /// of the sender in 8 MiB pieces and into the receiver's sink in pieces of whole chunks, never whole on either
    /// host; the bytes arrive intact and in order, and the sender's reference is released exactly once.
    /// </summary>
    [Theory]
    [InlineData(20 * (1 << 20) + 13, 3 * (1 << 20) + 5)] // three sender pieces (the last partial), receiver pieces of 3 chunks
    [InlineData(4096, 8 << 20)] // smaller than one chunk
    public async Task FetchStreaming_ResidentBlock_ArrivesIntactInPieces(int bytes, int pieceBytes)
    {
        var resident = new HostResidentBlock(Random(bytes, seed: bytes));
        uint checksum = System.IO.Hashing.Crc32.HashToUInt32(resident.Data);
        _store.Put("r", new StoredBlock("job", 1, "secret", resident.WithChecksum(checksum)));
        byte[] received = new byte[bytes];
        var pieces = new List<(long Offset, int Length)>();
        int inSink = 0;

        await new DataPlaneClient().FetchStreamingAsync(_server.Endpoint, "secret", "r", bytes, checksum, pieceBytes, async (offset, piece) =>
        {
            Assert.Equal(1, Interlocked.Increment(ref inSink)); // one sink call at a time
            await Task.Delay(5); // a slow upload: the next piece keeps arriving meanwhile
            piece.Span.CopyTo(received.AsSpan((int)offset));
            pieces.Add((offset, piece.Length));
            Interlocked.Decrement(ref inSink);
        }, CancellationToken.None);

        Assert.Equal(resident.Data, received);
        Assert.Equal(1, resident.Releases);
        Assert.Equal(0, _store.Count);
        long expectedOffset = 0;
        foreach (var (offset, length) in pieces)
        {
            Assert.Equal(expectedOffset, offset);
            Assert.True(length <= Math.Max(pieceBytes / (1 << 20) * (1 << 20), 1 << 20), $"piece of {length} bytes");
            expectedOffset += length;
        }

        Assert.True(bytes < 1 << 20 || pieces.Count > 1, "a multi-chunk block arrived in one piece");
    }

    [Fact]
    public async Task FetchStreaming_ChecksumDiffersFromAnnouncement_ThrowsAndReleasesSender()
    {
        var resident = new HostResidentBlock(Random(3 << 20, seed: 7));
        uint checksum = System.IO.Hashing.Crc32.HashToUInt32(resident.Data);
        _store.Put("r", new StoredBlock("job", 1, "secret", resident.WithChecksum(checksum ^ 1)));

        var error = await Assert.ThrowsAsync<DataPlaneException>(() => new DataPlaneClient().FetchStreamingAsync(
            _server.Endpoint, "secret", "r", resident.Data.Length, checksum ^ 1, 1 << 20, (_, _) => Task.CompletedTask, CancellationToken.None));
        Assert.Contains("does not match", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, resident.Releases);
    }

    private static byte[] Random(int bytes, int seed)
    {
        byte[] data = new byte[bytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>
    /// A stand-in for a block in GPU memory (no host memory exposed, so the server must copy it out piece by piece, as
    /// from a device; CI has none), counting releases.
    /// </summary>
    private sealed class HostResidentBlock(byte[] data) : IBlockReference
    {
        private int _releases;

        public byte[] Data => data;

        public int Releases => Volatile.Read(ref _releases);

        public long Bytes => data.Length;

        public uint Checksum { get; private set; }

        public uint[]? ChunkChecksums => null;

        public Memory<byte>? HostMemory => null;

        public HostResidentBlock WithChecksum(uint checksum)
        {
            Checksum = checksum;
            return this;
        }

        public Task CopyToHostAsync(long offset, Memory<byte> destination, CancellationToken ct)
        {
            data.AsSpan((int)offset, destination.Length).CopyTo(destination.Span);
            return Task.CompletedTask;
        }

        public RingAttention.Grains.Devices.ComputeDevice Device { get; } = new(new RingAttention.Kernels.Cpu.CpuAttentionBackend());

        public void Release() => Interlocked.Increment(ref _releases);
    }

    [Fact]
    public async Task FetchInto_ReusedBuffer_ArrivesIntactEachTime()
    {
        byte[] buffer = new byte[40_961 * 32 * 2 + 7];
        var client = new DataPlaneClient();
        for (int seed = 0; seed < 2; seed++)
        {
            var block = Block(40_961, seed);
            uint checksum = Publish($"b{seed}", block);

            await client.FetchIntoAsync(_server.Endpoint, "secret", $"b{seed}", buffer.AsMemory(7, (int)block.Bytes), checksum, CancellationToken.None);

            Assert.Equal(block.Keys.Data.ToArray().Concat(block.Values.Data.ToArray()), buffer.Skip(7));
        }
    }

    [Fact]
    public void Compute_EqualsChecksumOfKeysThenValues()
    {
        var block = Block(40_961, seed: 5);

        uint expected = System.IO.Hashing.Crc32.HashToUInt32([.. block.Keys.Data.ToArray(), .. block.Values.Data.ToArray()]);

        var crcs = BlockChecksum.Compute(block);
        Assert.Equal(expected, crcs.Whole);
        Assert.Equal((int)((block.Bytes + (1 << 20) - 1) >> 20), crcs.Chunks.Length);
    }

    [Fact]
    public async Task Fetch_ChunkCrcsUnknown_ServerComputesThem()
    {
        var block = Block(40_961, seed: 6);
        uint checksum = System.IO.Hashing.Crc32.HashToUInt32([.. block.Keys.Data.ToArray(), .. block.Values.Data.ToArray()]);
        _store.Put("b", new StoredBlock("job", 1, "secret", new ResidentBlock(_device, _device.Backend.UploadKeyValues(block), new BlockCrcs(checksum, []))));

        byte[] bytes = await new DataPlaneClient().FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None);

        Assert.Equal(block.Keys.Data.ToArray().Concat(block.Values.Data.ToArray()), bytes);
    }

    [Fact]
    public async Task Fetch_BlockChangedAfterPublish_FailsChunkCrc()
    {
        // The chunk CRCs sent are the ones recorded where the bytes last passed the host, so bytes that change in the
        // block's memory between publish and transfer are caught at the chunk they sit in.
        var spans = new[] { new TokenSpan(0, 40_961) };
        byte[] keys = new byte[40_961 * 32];
        byte[] values = new byte[keys.Length];
        new Random(8).NextBytes(keys);
        new Random(9).NextBytes(values);
        var block = new KeyValueBlock(
            new TensorRows(ElementType.BF16, 2, 8, spans, keys),
            new TensorRows(ElementType.BF16, 2, 8, spans, values));
        var published = ResidentBlock.Upload(_device, block);
        uint checksum = published.Checksum;
        _store.Put("b", new StoredBlock("job", 1, "secret", published));
        published.HostMemory!.Value.Span[keys.Length + (1 << 20) + 5] ^= 0x40; // in V, in the third chunk of K then V

        var error = await Assert.ThrowsAsync<DataPlaneException>(() =>
            new DataPlaneClient().FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None));

        Assert.Contains("chunk 2 failed its CRC", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_IntactChunksOfOtherBytes_FailsWholeBlockChecksum()
    {
        // Every chunk carries the right CRC for its bytes, but the bytes are not the announced block's.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        byte[] announced = [1, 2, 3, 4, 5, 6, 7, 8];
        byte[] sent = [1, 2, 3, 4, 5, 6, 7, 9];
        var peer = Task.Run(async () =>
        {
            using var socket = await listener.AcceptTcpClientAsync();
            var stream = socket.GetStream();
            await DataPlaneFrames.ReadAsync<BlockRequest>(stream, default);
            await DataPlaneFrames.WriteAsync(stream, new BlockStatus { Status = DataPlaneProtocol.Status.Ok }, default);
            await DataPlaneFrames.WriteAsync(stream, new BlockHeader { TotalBytes = sent.Length, ChunkSize = 4 }, default);
            for (int i = 0; i < 2; i++)
            {
                var bytes = sent.AsMemory(i * 4, 4);
                await DataPlaneFrames.WriteAsync(stream, new ChunkHeader { Index = i, Length = 4, Crc = System.IO.Hashing.Crc32.HashToUInt32(bytes.Span) }, default);
                await stream.WriteAsync(bytes);
            }

            await DataPlaneFrames.WriteAsync(stream, new BlockTrailer { Crc = System.IO.Hashing.Crc32.HashToUInt32(announced) }, default);
        });

        var error = await Assert.ThrowsAsync<DataPlaneException>(() => new DataPlaneClient().FetchAsync(
            $"127.0.0.1:{port}", "t", "b", announced.Length, System.IO.Hashing.Crc32.HashToUInt32(announced), CancellationToken.None));

        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
        await peer;
    }

    [Fact]
    public void RemoveAttempt_DropsOnlyThatAttemptsBlocks()
    {
        _store.Put("c", new StoredBlock("job1", 2, "t", ResidentBlock.Upload(_device, Block(1, 3))));
        _store.Put("a", new StoredBlock("job1", 1, "t", ResidentBlock.Upload(_device, Block(1, 1))));
        _store.Put("b", new StoredBlock("job2", 1, "t", ResidentBlock.Upload(_device, Block(1, 2))));

        Assert.Equal(1, _store.RemoveAttempt("job1", 1));
        Assert.True(_store.TryTake("b", out _));
        Assert.True(_store.TryTake("c", out _));
    }

    private static KeyValueBlock Block(int rows, int seed)
    {
        var spans = new[] { new TokenSpan(0, rows) };
        byte[] keys = new byte[rows * 2 * 8 * 2];
        byte[] values = new byte[keys.Length];
        new Random(seed).NextBytes(keys);
        new Random(seed + 1).NextBytes(values);
        return new KeyValueBlock(
            new TensorRows(ElementType.BF16, 2, 8, spans, keys),
            new TensorRows(ElementType.BF16, 2, 8, spans, values));
    }

    [Fact]
    public async Task Release_CopiedElsewhere_SenderLetsTheBlockGoWithoutSendingIt()
    {
        var block = Block(10, seed: 21);
        var published = ResidentBlock.Upload(_device, block);
        _store.Put("b", new StoredBlock("job", 1, "secret", published));
        long held = _device.ResidentBytes;

        await new DataPlaneClient().ReleaseAsync(_server.Endpoint, "secret", "b", CancellationToken.None);

        Assert.Equal(0, _store.Count);
        Assert.True(held > 0);
        Assert.Equal(0, published.References); // the store's reference was released, not served
        Assert.Equal(0, _device.ResidentBytes);
    }

    [Fact]
    public async Task Release_WrongTokenOrUnknownBlock_RefusedAndBlockKept()
    {
        Publish("b", Block(10, seed: 22));

        var wrong = await Assert.ThrowsAsync<DataPlaneException>(() => new DataPlaneClient().ReleaseAsync(_server.Endpoint, "guess", "b", CancellationToken.None));
        var unknown = await Assert.ThrowsAsync<DataPlaneException>(() => new DataPlaneClient().ReleaseAsync(_server.Endpoint, "secret", "nope", CancellationToken.None));

        Assert.Contains("Unauthorized", wrong.Message, StringComparison.Ordinal);
        Assert.Contains("UnknownBlock", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(1, _store.Count);
    }
}
