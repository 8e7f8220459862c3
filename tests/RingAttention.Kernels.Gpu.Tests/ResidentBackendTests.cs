using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The handle contract (<see cref="IAttentionBackend"/>) on ILGPU's CPU accelerator, in CI: the same ring
/// steps through handles equal the host path, blocks round-trip byte for byte, and memory is pooled and given back.
/// </summary>
public sealed class ResidentBackendTests : IDisposable
{
    private readonly PortableAttentionBackend _backend = PortableAttentionBackend.CreateCpu();

    public void Dispose() => _backend.Dispose();

    [Theory]
    [InlineData("bf16", true, 4, 2, 64)]
    [InlineData("f16", false, 4, 1, 40)]
    [InlineData("f32", true, 2, 2, 16)]
    public void RingSteps_ThroughResidentHandles_EqualHostPath(string dtype, bool causal, int heads, int kvHeads, int dim)
    {
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        var spec = new AttentionSpec(250, heads, kvHeads, dim, type, causal ? AttentionMask.CausalMask : AttentionMask.None).Validate();
        var rng = new Random(HashCode.Combine(dtype, causal, heads, kvHeads, dim));
        // 4 zigzag shards of a 250-token sequence in 8 uneven chunks (31 or 32 tokens): shard r holds chunks r and 7 - r.
        int[] starts = [0, 32, 63, 94, 125, 156, 187, 218, 250];
        TokenSpan Chunk(int c) => new(starts[c], starts[c + 1] - starts[c]);
        TokenSpan[] Shard(int r) => [Chunk(r), Chunk(7 - r)];
        var blocks = Enumerable.Range(0, 4).Select(r => new KeyValueBlock(
            Reference.Random(rng, type, kvHeads, dim, Shard(r)), Reference.Random(rng, type, kvHeads, dim, Shard(r)))).ToArray();

        for (int shard = 0; shard < 4; shard++)
        {
            var q = Reference.Random(rng, type, heads, dim, Shard(shard));
            var host = new PartialResult(q.Rows, heads, dim);
            var resident = new PartialResult(q.Rows, heads, dim);
            using (var dq = _backend.UploadRows(q))
            using (var acc = _backend.CreateAccumulator(q.Rows, heads, dim))
            {
                for (int step = 0; step < 4; step++)
                {
                    var block = blocks[(shard - step + 4) % 4];
                    _backend.Accumulate(spec, q, block, host);
                    using var kv = _backend.UploadKeyValues(block);
                    _backend.Accumulate(spec, dq, kv, acc);
                }

                _backend.Download(acc, resident);
            }

            for (int i = 0; i < host.Output.Length; i++)
            {
                Assert.True(Math.Abs(host.Output[i] - resident.Output[i]) <= 1e-6f, $"shard {shard} O[{i}]: host {host.Output[i]} resident {resident.Output[i]}");
            }

            for (int i = 0; i < host.Lse.Length; i++)
            {
                Assert.True(host.Lse[i] == resident.Lse[i] || Math.Abs(host.Lse[i] - resident.Lse[i]) <= 1e-5f, $"shard {shard} LSE[{i}]: host {host.Lse[i]} resident {resident.Lse[i]}");
            }

            // And both equal the float64 oracle.
            var (o, _) = Reference.Attention(spec, q, blocks);
            for (int i = 0; i < o.Length; i++)
            {
                Assert.True(Math.Abs(o[i] - resident.Output[i]) <= 2e-5, $"shard {shard} O[{i}] vs float64");
            }
        }

        Assert.Equal(0, _backend.ResidentBytes);
    }

    /// <summary>
    /// Streaming in uneven chunks (the ring's load path for shards larger than one host array) gives the same handles
    /// as a whole upload, and reading the result back a few rows at a time gives the same rows as a whole download.
    /// </summary>
    [Theory]
    [InlineData(7)]
    [InlineData(1000)]
    public void ChunkedCopies_EqualWholeUploadAndDownload(int chunkBytes)
    {
        var spec = new AttentionSpec(77, 4, 2, 24, ElementType.BF16, AttentionMask.CausalMask).Validate();
        var rng = new Random(chunkBytes);
        TokenSpan[] spans = [new(0, 40), new(40, 37)];
        var q = Reference.Random(rng, spec.DType, 4, 24, spans);
        var block = new KeyValueBlock(Reference.Random(rng, spec.DType, 2, 24, spans), Reference.Random(rng, spec.DType, 2, 24, spans));
        var whole = new PartialResult(q.Rows, 4, 24);
        using (var dq = _backend.UploadRows(q))
        using (var kv = _backend.UploadKeyValues(block))
        using (var acc = _backend.CreateAccumulator(q.Rows, 4, 24))
        {
            _backend.Accumulate(spec, dq, kv, acc);
            _backend.Download(acc, whole);
        }

        using var streamedQ = _backend.AllocateRows(spec.DType, 4, 24, spans);
        using var streamedKv = _backend.AllocateKeyValues(spec.DType, 2, 24, spans);
        Assert.Equal(q.Data.Length, streamedQ.DataBytes);
        Assert.Equal(block.Keys.Data.Length, streamedKv.KeyBytes);
        byte[] keysThenValues = [.. block.Keys.Data.ToArray(), .. block.Values.Data.ToArray()];
        for (int offset = 0; offset < q.Data.Length; offset += chunkBytes)
        {
            _backend.CopyToDevice(streamedQ, offset, q.Data.Span[offset..Math.Min(q.Data.Length, offset + chunkBytes)]);
        }

        for (int offset = 0; offset < keysThenValues.Length; offset += chunkBytes)
        {
            _backend.CopyToDevice(streamedKv, offset, keysThenValues.AsSpan(offset, Math.Min(chunkBytes, keysThenValues.Length - offset)));
        }

        byte[] back = new byte[keysThenValues.Length];
        _backend.CopyFromDevice(streamedKv, 0, back.AsSpan(0, 5));
        _backend.CopyFromDevice(streamedKv, 5, back.AsSpan(5));
        Assert.Equal(keysThenValues, back);

        using var streamedAcc = _backend.CreateAccumulator(q.Rows, 4, 24);
        _backend.Accumulate(spec, streamedQ, streamedKv, streamedAcc);
        int rowElements = 4 * 24;
        float[] rows = new float[q.Rows * rowElements];
        for (int first = 0; first < q.Rows; first += 10)
        {
            int count = Math.Min(10, q.Rows - first);
            _backend.DownloadOutputRows(streamedAcc, first, rows.AsSpan(first * rowElements, count * rowElements));
        }

        float[] lse = new float[4 * q.Rows];
        _backend.DownloadLse(streamedAcc, lse);
        Assert.Equal(whole.Output, rows);
        Assert.Equal(whole.Lse, lse);
        Assert.DoesNotContain(rows, float.IsNaN);

        Assert.Throws<ArgumentOutOfRangeException>(() => _backend.CopyToDevice(streamedQ, q.Data.Length - 1, new byte[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => _backend.DownloadOutputRows(streamedAcc, q.Rows, new float[rowElements]));
        Assert.Throws<ArgumentException>(() => _backend.DownloadOutputRows(streamedAcc, 0, new float[rowElements + 1]));
    }

    [Fact]
    public void PageLockedStaging_CopiesBothWays()
    {
        TokenSpan[] spans = [new(0, 9)];
        using var rows = _backend.AllocateRows(ElementType.F16, 3, 8, spans);
        byte[] pinned = GC.AllocateUninitializedArray<byte>((int)rows.DataBytes, pinned: true);
        new Random(5).NextBytes(pinned);
        byte[] expected = [.. pinned];
        using (_backend.PageLock(pinned))
        {
            _backend.CopyToDevice(rows, 0, pinned);
            Array.Clear(pinned);
            _backend.CopyFromDevice(rows, 0, pinned);
        }

        Assert.Equal(expected, pinned);
    }

    [Fact]
    public void KeyValues_RoundTrip_ByteForByte()
    {
        var rng = new Random(5);
        TokenSpan[] spans = [new TokenSpan(10, 17), new TokenSpan(90, 13)];
        var block = new KeyValueBlock(Reference.Random(rng, ElementType.BF16, 2, 64, spans), Reference.Random(rng, ElementType.BF16, 2, 64, spans));
        using var handle = _backend.UploadKeyValues(block);
        Assert.Equal(30, handle.Rows);
        var back = _backend.DownloadKeyValues(handle);
        Assert.Equal(block.Keys.Data.ToArray(), back.Keys.Data.ToArray());
        Assert.Equal(block.Values.Data.ToArray(), back.Values.Data.ToArray());
        Assert.Equal(spans, back.Keys.Spans);
    }

    [Fact]
    public void Steady_Ring_ReusesPooledBuffers_AndGivesEverythingBackAtTheEnd()
    {
        var spec = new AttentionSpec(128, 2, 2, 64, ElementType.BF16, AttentionMask.CausalMask).Validate();
        var rng = new Random(9);
        var q = Reference.Random(rng, ElementType.BF16, 2, 64, new TokenSpan(64, 64));
        var block = new KeyValueBlock(Reference.Random(rng, ElementType.BF16, 2, 64, new TokenSpan(0, 64)), Reference.Random(rng, ElementType.BF16, 2, 64, new TokenSpan(0, 64)));
        using var dq = _backend.UploadRows(q);
        using var acc = _backend.CreateAccumulator(q.Rows, 2, 64);
        var current = _backend.UploadKeyValues(block);
        int afterFirst = 0;
        for (int step = 0; step < 6; step++)
        {
            // Receive the next block before releasing the current one (double buffering), then hand over.
            var next = _backend.UploadKeyValues(block);
            _backend.Accumulate(spec, dq, current, acc);
            current.Dispose();
            current = next;
            if (step == 0)
            {
                afterFirst = _backend.ResidentAllocations;
            }
        }

        Assert.Equal(afterFirst, _backend.ResidentAllocations);
        current.Dispose();
        current.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => _backend.Accumulate(spec, dq, current, acc));
        acc.Dispose();
        dq.Dispose();
        Assert.Equal(0, _backend.ResidentBytes);
        Assert.Equal(0, _backend.Pool.PooledBytes);
    }

    [Fact]
    public void Accumulate_HandleOfAnotherBackend_Throws()
    {
        using var other = PortableAttentionBackend.CreateCpu();
        var rng = new Random(2);
        var q = Reference.Random(rng, ElementType.F16, 2, 64, new TokenSpan(0, 8));
        var block = new KeyValueBlock(Reference.Random(rng, ElementType.F16, 2, 64, new TokenSpan(0, 8)), Reference.Random(rng, ElementType.F16, 2, 64, new TokenSpan(0, 8)));
        var spec = new AttentionSpec(8, 2, 2, 64, ElementType.F16, AttentionMask.None).Validate();
        using var dq = _backend.UploadRows(q);
        using var acc = _backend.CreateAccumulator(8, 2, 64);
        using var foreign = other.UploadKeyValues(block);
        Assert.Throws<ArgumentException>(() => _backend.Accumulate(spec, dq, foreign, acc));
    }
}
