using RingAttention.Attention;
using RingAttention.Kernels;

namespace RingAttention.Grains.Devices;

/// <summary>
/// Attends waiting for a device's compute lane (ADR 21). The shards of a session that share a device ask with the same
/// queries at about the same time; the turn that reaches the lane takes every waiting attend with the same queries and
/// runs them together (<see cref="IAttentionBackend.AccumulateShards"/>: on a GPU, one split-K launch for all), the
/// others find their answers ready when their turn comes. Each answer is bit for bit what its attend alone would give,
/// so which attends happened to share a turn never shows in a result.
/// </summary>
internal sealed class AttendQueue
{
    private readonly object _gate = new();
    private readonly List<Pending> _waiting = [];

    /// <summary>One attend: its queries against its blocks, and the answer its turn (or another's) sets.</summary>
    internal sealed class Pending(AttentionSpec spec, TensorRows queries, IReadOnlyList<DeviceKeyValues> blocks)
    {
        public AttentionSpec Spec => spec;

        public TensorRows Queries => queries;

        public IReadOnlyList<DeviceKeyValues> Blocks => blocks;

        public TaskCompletionSource<PartialResult> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Whether the same queries and spec: the attends may share launches.</summary>
        public bool SameQueries(Pending other) =>
            spec == other.Spec
            && queries.Type == other.Queries.Type && queries.Heads == other.Queries.Heads && queries.HeadDim == other.Queries.HeadDim
            && queries.Spans.SequenceEqual(other.Queries.Spans)
            && queries.Data.Span.SequenceEqual(other.Queries.Data.Span);
    }

    public Pending Enqueue(AttentionSpec spec, TensorRows queries, IReadOnlyList<DeviceKeyValues> blocks)
    {
        var pending = new Pending(spec, queries, blocks);
        lock (_gate)
        {
            _waiting.Add(pending);
        }

        return pending;
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
}
