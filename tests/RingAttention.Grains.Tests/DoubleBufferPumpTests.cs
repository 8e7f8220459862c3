using RingAttention.Grains.Transfer;

namespace RingAttention.Grains.Tests;

/// <summary>The one double-buffer loop: order, overlap, one buffer for one piece, and draining on failure.</summary>
public sealed class DoubleBufferPumpTests
{
    [Theory]
    [InlineData(10, 3)]
    [InlineData(9, 3)]
    [InlineData(2, 5)]
    public async Task Run_PiecesArriveInOrderAndEachProduceOverlapsThePreviousConsume(int total, int pieceLength)
    {
        var received = new List<int>();
        int pieces = (total + pieceLength - 1) / pieceLength;
        var overlapped = 0;
        var consuming = 0;

        await DoubleBufferPump.RunAsync<int>(null, total, pieceLength,
            async (piece, buffer) =>
            {
                if (Volatile.Read(ref consuming) == 1)
                {
                    Interlocked.Increment(ref overlapped);
                }

                int start = piece * pieceLength;
                int length = Math.Clamp(total - start, 0, pieceLength);
                await Task.Yield();
                for (int i = 0; i < length; i++)
                {
                    buffer.Span[i] = start + i;
                }

                return length;
            },
            async (_, piece) =>
            {
                Volatile.Write(ref consuming, 1);
                await Task.Delay(20);
                received.AddRange(piece.ToArray());
                Volatile.Write(ref consuming, 0);
            });

        Assert.Equal(Enumerable.Range(0, total), received);
        // Every produce after the first ran while the previous piece was being consumed (when there were two buffers).
        Assert.True(pieces == 1 || overlapped >= pieces - 1, $"{overlapped} of {pieces - 1} produces overlapped a consume");
    }

    [Fact]
    public async Task Run_ProduceFails_WaitsForTheConsumeStillReadingABufferThenRethrows()
    {
        var consumeEnded = new TaskCompletionSource();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => DoubleBufferPump.RunAsync<byte>(null, 100, 10,
            async (piece, buffer) =>
            {
                await Task.Yield();
                return piece == 1 ? throw new InvalidOperationException("read failed") : 10;
            },
            async (_, _) =>
            {
                // A slow upload still reading piece 0's buffer when piece 1's read fails.
                await Task.Delay(100);
                consumeEnded.SetResult();
            }));

        Assert.Equal("read failed", error.Message);
        Assert.True(consumeEnded.Task.IsCompleted, "the buffers went while a consume still read one");
    }
}
