using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// Downloads pass through two page-locked buffers of <see cref="IlgpuAttentionBackend.StagingBytes"/>, piece by piece,
/// alternating. One piece, both sides of each piece boundary up to three pieces, at odd offsets, and from several
/// threads at once (the buffers are shared: one copy at a time may use them), byte for byte.
/// </summary>
public sealed class StagedDownloadTests
{
    [Fact]
    public void CopyFromDevice_EitherSideOfEachPieceBoundary_ByteForByte()
    {
        using var backend = PortableAttentionBackend.CreateCpu();
        int staging = IlgpuAttentionBackend.StagingBytes;
        // K/V of 2 heads × 32 dims in bf16: 128 bytes a row, each of K and V; K alone holds more than two pieces.
        int rows = (2 * staging / 128) + 1;
        using var handle = backend.AllocateKeyValues(ElementType.BF16, 2, 32, [new TokenSpan(0, rows)]);
        var up = new byte[handle.DataBytes];
        new Random(3).NextBytes(up);
        backend.CopyToDevice(handle, 0, up);

        foreach (var (offset, length) in new[] { (0L, 1), (7L, 4093), (0L, staging), (129L, staging), (0L, staging + 1), (3L, staging + 77), (0L, 2 * staging), (5L, (2 * staging) + 3), (1L, (3 * staging) - 1) })
        {
            var down = new byte[length];
            backend.CopyFromDevice(handle, offset, down);
            Assert.True(up.AsSpan((int)offset, length).SequenceEqual(down), $"{length} bytes at {offset}: the bytes read back differ");
        }
    }

    [Fact]
    public async Task CopyFromDevice_FromSeveralThreads_EachGetsItsOwnBytes()
    {
        using var backend = PortableAttentionBackend.CreateCpu();
        var handles = Enumerable.Range(0, 4).Select(_ => backend.AllocateKeyValues(ElementType.F16, 4, 64, [new TokenSpan(0, 300)])).ToList();
        try
        {
            var written = handles.Select((h, i) =>
            {
                var bytes = new byte[h.DataBytes];
                new Random(i).NextBytes(bytes);
                backend.CopyToDevice(h, 0, bytes);
                return bytes;
            }).ToList();

            await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            {
                for (int round = 0; round < 50; round++)
                {
                    var down = new byte[handles[i].DataBytes];
                    backend.CopyFromDevice(handles[i], 0, down);
                    Assert.True(written[i].AsSpan().SequenceEqual(down), $"thread {i}, round {round}: another download's bytes");
                }
            })));
        }
        finally
        {
            handles.ForEach(h => h.Dispose());
        }
    }
}
