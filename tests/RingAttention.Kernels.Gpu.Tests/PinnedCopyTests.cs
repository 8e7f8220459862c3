using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>Tests that force garbage collections run alone: a forced collection stops every thread of the test process.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "alone";
}

/// <summary>Copies between host arrays and device handles with the garbage collector moving arrays around them.</summary>
[Collection(AloneCollection.Name)]
public sealed class PinnedCopyTests
{
    /// <summary>
    /// Host arrays stay pinned for the whole copy: with compacting collections running flat out beside them, fresh
    /// (movable) arrays round-trip byte for byte. Before they were pinned, a collection that moved an array mid-copy
    /// made the ring's results differ from the host path's once in a few CI runs. A guard, not a proof: without the pin
    /// it failed 3 of 3 runs on a loaded machine (rounds 87-200) and passes on an idle one, where a collection seldom
    /// lands inside a copy. At most 5 seconds: every collection stops every thread of the process, and at the end of a
    /// CI run the process has hundreds (400 rounds took 231 s there).
    /// </summary>
    [Fact]
    public async Task Copies_UnderCompactingCollections_RoundTripByteForByte()
    {
        using var backend = PortableAttentionBackend.CreateCpu();
        using var handle = backend.AllocateKeyValues(ElementType.BF16, 2, 32, [new TokenSpan(0, 256)]);
        using var stop = new CancellationTokenSource();
        var collector = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                // Garbage between collections so that the heap has holes to compact into.
                _ = new byte[1000 + Random.Shared.Next(5000)];
                GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: true);
            }
        });
        try
        {
            var rng = new Random(5);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (int round = 0; round < 400 && (round == 0 || clock.Elapsed < TimeSpan.FromSeconds(5)); round++)
            {
                var up = new byte[handle.DataBytes];
                rng.NextBytes(up);
                _ = new byte[rng.Next(100, 3000)];
                backend.CopyToDevice(handle, 0, up);
                var down = new byte[handle.DataBytes];
                backend.CopyFromDevice(handle, 0, down);
                Assert.True(up.AsSpan().SequenceEqual(down), $"round {round}: the bytes read back differ from those written");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await collector;
        }
    }
}
