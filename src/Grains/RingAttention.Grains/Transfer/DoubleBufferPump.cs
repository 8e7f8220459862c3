using RingAttention.Grains.Devices;

namespace RingAttention.Grains.Transfer;

/// <summary>
/// The one "fill piece j+1 while draining piece j" loop over two reused staging buffers, for every stream of shard
/// data: inputs from the file to the device, results from the device to the file, a block from the device to the
/// socket, and a block from the socket to the device. <c>produce(j, buffer)</c> writes piece j into the buffer it is
/// given and returns how many elements it wrote (0: nothing left); <c>consume(j, piece)</c> reads it. produce(j+1)
/// runs while consume(j) does; produce calls run one at a time and in order, and so do consume calls, so either side
/// may keep running state (an offset, a checksum) in its closure.
/// On a failure the task still running on the other buffer is awaited before the buffers go (it may be a device copy
/// into page-locked memory, or an upload reading it), then the first failure is rethrown.
/// </summary>
public static class DoubleBufferPump
{
    /// <param name="device">The device the pieces come from or go to (page-locked buffers), or null (plain arrays).</param>
    /// <param name="total">Elements in the whole stream: a stream of one piece gets one buffer.</param>
    /// <param name="pieceLength">Elements per buffer (the largest piece).</param>
    public static async Task RunAsync<T>(
        ComputeDevice? device, long total, int pieceLength,
        Func<int, Memory<T>, Task<int>> produce, Func<int, Memory<T>, Task> consume)
        where T : unmanaged
    {
        if (total <= 0)
        {
            return;
        }

        using var first = StagingBuffer<T>.Allocate(device, pieceLength);
        using var second = StagingBuffer<T>.Allocate(device, total > pieceLength ? pieceLength : 0);
        T[] current = first.Array;
        var producing = produce(0, current);
        var consuming = Task.CompletedTask;
        try
        {
            for (int piece = 0; ; piece++)
            {
                int length = await producing.ConfigureAwait(false);
                if (length == 0)
                {
                    break;
                }

                // consume(j - 1) read the buffer produce(j + 1) is about to fill: it must be done first.
                await consuming.ConfigureAwait(false);
                var filled = current;
                consuming = consume(piece, filled.AsMemory(0, length));
                current = ReferenceEquals(filled, first.Array) ? second.Array : first.Array;
                if (current.Length == 0)
                {
                    // A stream expected to fit one piece has only one buffer: no overlap, and no second allocation.
                    await consuming.ConfigureAwait(false);
                    current = filled;
                }

                producing = produce(piece + 1, current);
            }

            await consuming.ConfigureAwait(false);
        }
        catch
        {
            await Task.WhenAll(producing, consuming).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
                .ConfigureAwait(false);
            throw;
        }
    }
}
