using RingAttention.Attention;
using RingAttention.Kernels;

namespace RingAttention.Grains.Devices;

/// <summary>
/// Attends waiting for a device's compute lane (ADR 21). The shards of a session that share a device ask with the same
/// queries at about the same time; the turn that reaches the lane takes every waiting attend with the same queries and
/// runs them together (<see cref="IAttentionBackend.AccumulateShards"/>: on a GPU, one split-K launch for all), the
/// others find their answers ready when their turn comes. Each shard's partial is bit for bit what its attend alone
/// would give. An attend that is a node of a session's merge tree (<see cref="AttendTree"/>) first waits, a short
/// while at most, for the other nodes the placement rule puts on this device (ADR 27): so they share one turn whatever
/// order their calls arrive in, and the device merges them along the tree (<see cref="MergePlan"/>).
/// </summary>
internal sealed class AttendQueue
{
    /// <summary>Nodes remembered as not coming (placed elsewhere after all); more are forgotten, not kept.</summary>
    private const int MostAbsent = 4096;

    private readonly object _gate = new();
    private readonly List<Pending> _waiting = [];
    private readonly HashSet<(string Owner, int Index)> _absent = [];

    /// <summary>One attend: its queries against its blocks, and the answer its turn (or another's) sets.</summary>
    internal sealed class Pending(AttentionSpec spec, TensorRows queries, IReadOnlyList<DeviceKeyValues> blocks, AttendTree? tree)
    {
        public AttentionSpec Spec => spec;

        public TensorRows Queries => queries;

        public IReadOnlyList<DeviceKeyValues> Blocks => blocks;

        public AttendTree? Tree => tree;

        public TaskCompletionSource<ShardPartial> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set when every node this one expects on the device is waiting too (at once without a tree).</summary>
        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Whether the same queries and spec: the attends may share launches.</summary>
        public bool SameQueries(Pending other) =>
            spec == other.Spec
            && queries.Type == other.Queries.Type && queries.Heads == other.Queries.Heads && queries.HeadDim == other.Queries.HeadDim
            && queries.Spans.SequenceEqual(other.Queries.Spans)
            && queries.Data.Span.SequenceEqual(other.Queries.Data.Span);
    }

    public Pending Enqueue(AttentionSpec spec, TensorRows queries, IReadOnlyList<DeviceKeyValues> blocks, AttendTree? tree)
    {
        var pending = new Pending(spec, queries, blocks, tree);
        lock (_gate)
        {
            _waiting.Add(pending);
            if (tree is null)
            {
                pending.Ready.TrySetResult();
            }
            else
            {
                _absent.Remove((tree.Owner, tree.Index));
                foreach (var member in Group(tree))
                {
                    if (Missing(member).Count == 0)
                    {
                        member.Ready.TrySetResult();
                    }
                }
            }
        }

        return pending;
    }

    /// <summary>
    /// The wait of <paramref name="mine"/> for its expected nodes is over: those still missing are remembered as absent
    /// (their next attends here are not waited for, until one arrives), and the nodes waiting with it go on too. Nothing
    /// when a turn has already taken it: its group went whole (a turn takes every waiting attend with its queries), and
    /// its members, no longer waiting, must not be taken for absent ones (two members whose waits ended together did
    /// that, and the next attend's first node then ran alone while the others waited for it: a CI run caught it).
    /// </summary>
    public void GiveUp(Pending mine)
    {
        lock (_gate)
        {
            if (mine.Tree is not { } tree || !_waiting.Contains(mine))
            {
                return;
            }

            if (_absent.Count > MostAbsent)
            {
                _absent.Clear();
            }

            foreach (int index in Missing(mine))
            {
                _absent.Add((tree.Owner, index));
            }

            foreach (var member in Group(tree))
            {
                member.Ready.TrySetResult();
            }

            mine.Ready.TrySetResult();
        }
    }

    /// <summary>For the turn of <paramref name="mine"/>: it and every waiting attend with its queries (in arrival order),
    /// or nothing when an earlier turn already took it.</summary>
    public IReadOnlyList<Pending> Take(Pending mine)
    {
        lock (_gate)
        {
            if (!_waiting.Contains(mine))
            {
                return [];
            }

            var batch = _waiting.Where(p => p == mine || p.SameQueries(mine)).ToList();
            _waiting.RemoveAll(batch.Contains);
            return batch;
        }
    }

    /// <summary>An attend given up before its turn: false when a turn has already taken it (its answer will come).</summary>
    public bool Withdraw(Pending mine)
    {
        lock (_gate)
        {
            return _waiting.Remove(mine);
        }
    }

    /// <summary>Waiting nodes of the same attend (under the gate).</summary>
    private IEnumerable<Pending> Group(AttendTree tree) => _waiting.Where(p => tree.SameAttend(p.Tree));

    /// <summary>The nodes <paramref name="member"/> expects that are neither waiting nor known absent (under the gate).</summary>
    private List<int> Missing(Pending member)
    {
        var tree = member.Tree!;
        var present = Group(tree).Select(p => p.Tree!.Index).ToHashSet();
        return [.. tree.Expected.Where(i => !present.Contains(i) && !_absent.Contains((tree.Owner, i)))];
    }
}
