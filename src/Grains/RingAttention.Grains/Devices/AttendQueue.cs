using RingAttention.Attention;
using RingAttention.Kernels;

namespace RingAttention.Grains.Devices;

/// <summary>
/// Attends waiting for a device's compute lane (ADR 21). The shards of a session that share a device ask with the same
/// queries at about the same time; the turn that reaches the lane takes every waiting attend with the same queries and
/// runs them together (<see cref="IAttentionBackend.AccumulateShards"/>: on a GPU, one split-K launch for all), the
/// others have their answers set by it and do not wait for a turn of their own. A turn that expects more of them (the
/// shards of its session that placement put on this device) waits a moment for them (<see cref="GatherAsync"/>): the
/// first shard to ask would otherwise run alone, and the rest in a second turn. Each answer is bit for bit what its
/// attend alone would give, so which attends happened to share a turn never shows in a result.
/// </summary>
internal sealed class AttendQueue
{
    private readonly object _gate = new();
    private readonly List<Pending> _waiting = [];
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
        TaskCompletionSource arrived;
        lock (_gate)
        {
            _waiting.Add(pending);
            arrived = _arrived;
            _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        arrived.TrySetResult();
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

    /// <summary>
    /// For the turn of <paramref name="mine"/>: returns once <paramref name="expected"/> attends with its queries (it
    /// included) are waiting, after <paramref name="patience"/> at most (a shard still loading its pages, or placed
    /// elsewhere after a failover, takes a turn of its own later), or at once when a turn already took it.
    /// </summary>
    public async Task GatherAsync(Pending mine, int expected, TimeSpan patience)
    {
        long deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(patience.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (true)
        {
            Task arrived;
            lock (_gate)
            {
                if (!_waiting.Contains(mine) || _waiting.Count(p => p == mine || p.SameQueries(mine)) >= expected)
                {
                    return;
                }

                arrived = _arrived.Task;
            }

            var left = System.Diagnostics.Stopwatch.GetElapsedTime(System.Diagnostics.Stopwatch.GetTimestamp(), deadline);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            // Whole milliseconds: Task.Delay truncates, and 0 would spin.
            await Task.WhenAny(arrived, Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds)))).ConfigureAwait(false);
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
