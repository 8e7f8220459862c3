using System.Diagnostics;
using RingAttention.Attention;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

/// <summary>
/// Attends with the same queries that wait for a device's compute lane share a turn (ADR 21: the shards of a session on
/// one device), and each partial is bit for bit the one the attend gets alone; attends with other queries do not join.
/// Nodes of one session attend's merge tree wait for the nodes expected on the device, share one turn, and merge
/// there along the tree (ADR 27): the answer is bit for bit the host's tree of the partials alone (the CPU backend's
/// device merge is the host merge).
/// </summary>
public sealed class AttendQueueTests
{
    private static readonly AttentionSpec Spec = new(400, 4, 2, 16, ElementType.BF16, AttentionMask.CausalMask);

    [Fact]
    public async Task AttendEach_SameQueriesWaiting_ShareATurn_AnswersAsAlone()
    {
        using var device = new ComputeDevice(new CpuAttentionBackend());
        var rng = new Random(21);
        var q = Rows(rng, Spec.Heads, new TokenSpan(390, 1));
        var other = Rows(rng, Spec.Heads, new TokenSpan(390, 1));
        var shards = Shards(device, rng, 4);
        try
        {
            var alone = await Alone(device, q, shards);
            long turns = device.AttendTurns;
            Assert.Equal(shards.Count, turns);
            // All issued before the first awaits: the first takes the lane at once, the rest wait and share the next
            // turn; the attend with other queries waits too but takes a turn of its own.
            var together = shards.Select(s => device.AttendEachAsync(Spec, q, s, null, CancellationToken.None)).ToList();
            var stranger = device.AttendEachAsync(Spec, other, shards[0], null, CancellationToken.None);
            var answers = await Task.WhenAll(together);
            var strangerAnswer = await stranger;
            long shared = device.AttendTurns - turns; // alone: five turns (four attends and the stranger)
            Assert.InRange(shared, 2, shards.Count);
            for (int s = 0; s < shards.Count; s++)
            {
                Assert.Equal(1, answers[s].Through);
                Assert.Equal(alone[s].Output, answers[s].Result!.Output);
                Assert.Equal(alone[s].Lse, answers[s].Result!.Lse);
            }

            Assert.NotEqual(alone[0].Output, strangerAnswer.Result!.Output);
            Assert.Equal(0, device.DeviceMerges);
        }
        finally
        {
            shards.SelectMany(s => s).ToList().ForEach(h => h.Dispose());
        }
    }

    [Theory]
    [InlineData(6)]
    [InlineData(8)]
    public async Task AttendEach_TreeNodesOnOneDevice_OneTurn_MergedAlongTheTree_BitwiseTheHostTree(int count)
    {
        using var device = new ComputeDevice(new CpuAttentionBackend());
        var rng = new Random(count);
        var q = Rows(rng, Spec.Heads, new TokenSpan(395, 3));
        var shards = Shards(device, rng, count);
        try
        {
            var alone = await Alone(device, q, shards);
            long turns = device.AttendTurns;
            // Issued last node first: the lane is free, yet no turn goes before every expected node has come.
            var tree = Guid.NewGuid();
            int[] all = [.. Enumerable.Range(0, count)];
            var answers = new Task<ShardPartial>[count];
            for (int i = count - 1; i >= 0; i--)
            {
                answers[i] = device.AttendEachAsync(Spec, q, shards[i], new AttendTree("s", tree, i, count, all), CancellationToken.None);
            }

            var partials = await Task.WhenAll(answers);
            Assert.Equal(1, device.AttendTurns - turns);
            Assert.Equal(count - 1, device.DeviceMerges);
            Assert.Equal(MergeTree.Span(0, count), partials[0].Through);
            Assert.All(partials.Skip(1), a => Assert.True(a.MergedIntoParent));
            var host = HostTree(alone, 0, MergeTree.Span(0, count));
            Assert.Equal(host.Output, partials[0].Result!.Output);
            Assert.Equal(host.Lse, partials[0].Result!.Lse);
        }
        finally
        {
            shards.SelectMany(s => s).ToList().ForEach(h => h.Dispose());
        }
    }

    [Fact]
    public async Task AttendEach_ExpectedNodeNeverComes_TurnGoesAfterTheWait_NotWaitedForAgain()
    {
        // Long enough that the first attend's wait cannot be mistaken for the second's: the second must not wait.
        using var device = new ComputeDevice(new CpuAttentionBackend()) { GroupWait = TimeSpan.FromSeconds(2) };
        var rng = new Random(3);
        var q = Rows(rng, Spec.Heads, new TokenSpan(395, 1));
        var shards = Shards(device, rng, 4);
        try
        {
            var alone = await Alone(device, q, shards);
            int[] expected = [0, 1, 2, 3];
            foreach (bool first in new[] { true, false })
            {
                var tree = Guid.NewGuid();
                var clock = Stopwatch.StartNew();
                // Node 3 never comes: node 2 cannot take its child, node 0 takes 1 but not the incomplete 2.
                var answers = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
                    device.AttendEachAsync(Spec, q, shards[i], new AttendTree("s", tree, i, 4, expected), CancellationToken.None)));
                if (first)
                {
                    Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9), $"{clock.Elapsed}");
                }
                else
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.5), $"{clock.Elapsed}");
                }

                Assert.Equal(2, answers[0].Through);
                Assert.True(answers[1].MergedIntoParent);
                Assert.Equal(1, answers[2].Through);
                Assert.Equal(alone[2].Output, answers[2].Result!.Output);
                var host = HostTree(alone, 0, 2);
                Assert.Equal(host.Output, answers[0].Result!.Output);
                Assert.Equal(host.Lse, answers[0].Result!.Lse);
            }
        }
        finally
        {
            shards.SelectMany(s => s).ToList().ForEach(h => h.Dispose());
        }
    }

    /// <summary>
    /// Two nodes whose waits end together: the first gives up (node 3 is remembered as absent) and its turn takes the
    /// group; the second's give-up comes after that and must change nothing. (Before, it took its group-mates, no longer
    /// waiting, for absent ones: the next attend's node 0 then went alone and nodes 1 and 2 waited for it in vain.)
    /// </summary>
    [Fact]
    public void GiveUp_AfterATurnTookTheGroup_ChangesNothing()
    {
        var queue = new AttendQueue();
        var rng = new Random(5);
        var q = Rows(rng, Spec.Heads, new TokenSpan(395, 1));
        int[] expected = [0, 1, 2, 3];
        AttendQueue.Pending Enqueue(Guid attend, int i) => queue.Enqueue(Spec, q, [], new AttendTree("s", attend, i, 4, expected));

        var first = Guid.NewGuid();
        var nodes = Enumerable.Range(0, 3).Select(i => Enqueue(first, i)).ToList();
        Assert.All(nodes, n => Assert.False(n.Ready.Task.IsCompleted));
        queue.GiveUp(nodes[0]);
        Assert.All(nodes, n => Assert.True(n.Ready.Task.IsCompleted));
        Assert.Equal(3, queue.Take(nodes[0]).Count);
        queue.GiveUp(nodes[1]);

        var second = Guid.NewGuid();
        var zero = Enqueue(second, 0);
        Assert.False(zero.Ready.Task.IsCompleted); // it waits for 1 and 2, which are coming
        var rest = new[] { Enqueue(second, 1), Enqueue(second, 2) };
        Assert.True(zero.Ready.Task.IsCompleted); // and not for 3, remembered as absent
        Assert.All(rest, n => Assert.True(n.Ready.Task.IsCompleted));
    }

    [Fact]
    public void MergePlan_FollowsTheTree_LevelByLevel_OnlyCompleteChildren()
    {
        var id = Guid.NewGuid();
        AttendTree Node(int i, int count) => new("s", id, i, count, []);

        var eight = MergePlan.For([.. Enumerable.Range(0, 8).Select(i => Node(i, 8))]);
        Assert.Equal([(0, 1), (2, 3), (4, 5), (6, 7), (0, 2), (4, 6), (0, 4)], eight.Merges);
        Assert.Equal(8, eight.Through[0]);
        Assert.Equal([false, true, true, true, true, true, true, true], eight.MergedIntoParent);

        // Node 0 on a turn of its own (it came first): the rest merge as far as their subtrees go.
        var late = MergePlan.For([.. Enumerable.Range(1, 7).Select(i => Node(i, 8))]);
        Assert.Equal([(1, 2), (3, 4), (5, 6), (3, 5)], late.Merges); // positions: node = position + 1
        Assert.Equal([1, 2, 1, 4, 1, 2, 1], late.Through);
        Assert.Equal([false, false, true, false, true, true, true], late.MergedIntoParent);

        // Six: node 4 has no child at level 4 (6 does not exist), so it is complete at 4 and the root takes it.
        var six = MergePlan.For([.. Enumerable.Range(0, 6).Select(i => Node(i, 6))]);
        Assert.Equal([(0, 1), (2, 3), (4, 5), (0, 2), (0, 4)], six.Merges);

        // A node missing (5) stops its parent (4) and so the root at level 8; another attend's nodes and a second
        // attend of the same node take no part.
        var gaps = MergePlan.For([Node(0, 6), Node(1, 6), Node(2, 6), Node(3, 6), Node(4, 6), new AttendTree("s", Guid.NewGuid(), 5, 6, []), Node(1, 6), null]);
        Assert.Equal([(0, 1), (2, 3), (0, 2)], gaps.Merges);
        Assert.Equal([4, 1, 2, 1, 1, 1, 1, 1], gaps.Through);
        Assert.Equal([false, true, true, true, false, false, false, false], gaps.MergedIntoParent);
    }

    /// <summary>The host's merge tree over partials alone: node i's own partial, then each child's subtree in order.</summary>
    private static PartialResult HostTree(IReadOnlyList<PartialResult> alone, int index, int span)
    {
        var result = new PartialResult(alone[index].Rows, alone[index].Heads, alone[index].HeadDim);
        alone[index].Output.CopyTo(result.Output, 0);
        alone[index].Lse.CopyTo(result.Lse, 0);
        foreach (var (level, child) in MergeTree.Children(index, span, alone.Count))
        {
            SoftmaxMerge.MergeInto(result, HostTree(alone, child, level / 2));
        }

        return result;
    }

    private static async Task<List<PartialResult>> Alone(ComputeDevice device, TensorRows q, IReadOnlyList<IReadOnlyList<DeviceKeyValues>> shards)
    {
        var alone = new List<PartialResult>();
        foreach (var shard in shards)
        {
            alone.Add((await device.AttendEachAsync(Spec, q, shard, null, CancellationToken.None)).Result!);
        }

        return alone;
    }

    /// <summary>Shards of two pages each over consecutive keys (a session's ring order).</summary>
    private static List<IReadOnlyList<DeviceKeyValues>> Shards(ComputeDevice device, Random rng, int count) =>
        [.. Enumerable.Range(0, count).Select(s => (IReadOnlyList<DeviceKeyValues>)[.. new[] { Block(rng, 45 * s, 25), Block(rng, (45 * s) + 25, 20) }.Select(device.Backend.UploadKeyValues)])];

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
