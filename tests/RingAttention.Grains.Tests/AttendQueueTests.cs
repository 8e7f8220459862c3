using RingAttention.Attention;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

/// <summary>
/// Attends with the same queries that wait for a device's compute lane share a turn (ADR 21: the shards of a session on
/// one device), and each answer is bit for bit the answer the attend gets alone; attends with other queries do not join.
/// </summary>
public sealed class AttendQueueTests
{
    private static readonly AttentionSpec Spec = new(200, 4, 2, 16, ElementType.BF16, AttentionMask.CausalMask);

    [Fact]
    public async Task AttendEach_SameQueriesWaiting_ShareATurn_AnswersAsAlone()
    {
        using var device = new ComputeDevice(new CpuAttentionBackend());
        var rng = new Random(21);
        var q = Rows(rng, Spec.Heads, new TokenSpan(190, 1));
        var other = Rows(rng, Spec.Heads, new TokenSpan(190, 1));
        var shards = Enumerable.Range(0, 4).Select(s => new[] { Block(rng, 50 * s, 30), Block(rng, (50 * s) + 30, 20) }.Select(device.Backend.UploadKeyValues).ToList()).ToList();
        try
        {
            var alone = new List<PartialResult>();
            foreach (var shard in shards)
            {
                alone.Add(await device.AttendEachAsync(Spec, q, shard, CancellationToken.None));
            }

            long turns = device.AttendTurns;
            Assert.Equal(shards.Count, turns);
            // All issued before the first awaits: the first takes the lane at once, the rest wait and share the next
            // turn; the attend with other queries waits too but takes a turn of its own.
            var together = shards.Select(s => device.AttendEachAsync(Spec, q, s, CancellationToken.None)).ToList();
            var stranger = device.AttendEachAsync(Spec, other, shards[0], CancellationToken.None);
            var answers = await Task.WhenAll(together);
            var strangerAnswer = await stranger;
            long shared = device.AttendTurns - turns; // alone: five turns (four attends and the stranger)
            Assert.InRange(shared, 2, shards.Count);
            for (int s = 0; s < shards.Count; s++)
            {
                Assert.Equal(alone[s].Output, answers[s].Output);
                Assert.Equal(alone[s].Lse, answers[s].Lse);
            }

            Assert.NotEqual(alone[0].Output, strangerAnswer.Output);
        }
        finally
        {
            shards.SelectMany(s => s).ToList().ForEach(h => h.Dispose());
        }
    }

    private static TensorRows Rows(Random rng, int heads, TokenSpan span)
    {
        var values = new float[span.Count * heads * Spec.HeadDim];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        var bytes = new byte[values.Length * 2];
        ElementConvert.FromSingle(values, ElementType.BF16, bytes);
        return new TensorRows(ElementType.BF16, heads, Spec.HeadDim, [span], bytes);
    }

    private static KeyValueBlock Block(Random rng, int start, int count) =>
        new(Rows(rng, Spec.KvHeads, new TokenSpan(start, count)), Rows(rng, Spec.KvHeads, new TokenSpan(start, count)));
}
