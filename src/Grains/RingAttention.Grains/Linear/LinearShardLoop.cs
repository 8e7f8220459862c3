using System.Diagnostics;
using RingAttention.Grains.Ring;
using RingAttention.Kernels;
using RingAttention.Kernels.Linear;

namespace RingAttention.Grains.Linear;

/// <summary>
/// One shard of a linear-attention job (issue 16). No K/V leaves the shard: it loads its own q, k and v, computes the
/// state of each of its spans over their own keys, exchanges states with the other shards
/// (<see cref="LinearStateExchange"/>), then computes o of its rows from the state each span starts from (the
/// chunkwise form: the intra-chunk products plus the running state). Progress is reported in thirds of the R steps a
/// softmax shard reports: loaded and states computed, states exchanged, output computed.
/// </summary>
public sealed class LinearShardLoop(ShardPlan plan, RingLoopContext context, LinearStateInbox inbox, Func<int, LinearStatePost, Task> send) : IShardLoop
{
    private readonly RingCounters _counters = new();

    public RingTotals Totals => _counters.Snapshot();

    public void AddWriteSeconds(double seconds) => _counters.Wrote(seconds);

    public async Task<ShardResult> RunAsync(CancellationToken ct)
    {
        var spec = plan.Spec.ToLinearSpec().Validate();
        var device = context.Device;
        var load = Stopwatch.StartNew();
        var (queries, keyValues) = await ShardLoader.LoadAsync(plan, device, context.StagingBytes, ct);
        DeviceAccumulator? output = null;
        try
        {
            _counters.Loaded(load.Elapsed.TotalSeconds);
            _counters.RingStarted();
            var ring = Stopwatch.StartNew();
            var compute = Stopwatch.StartNew();
            // Causal, nobody reads the state of the sequence's last span: a shard that owns only that one skips the pass.
            var order = new LinearSpanOrder(plan.ShardSpans);
            int[] sequence = order.OfShard(plan.Index, plan.OwnSpans.Count);
            bool read = !spec.Causal || sequence.Any(j => j >= 0 && j < order.Count - 1);
            var own = read
                ? await device.LinearSpanStatesAsync(spec, keyValues.Handle, ct)
                : [.. plan.OwnSpans.Select(span => Unread(spec, span.Count))];
            _counters.Stepped(compute.Elapsed.TotalSeconds);
            await context.ReportStep(plan.Count / 3, _counters.Snapshot());

            var wait = Stopwatch.StartNew();
            var exchange = new LinearExchangeContext(plan, spec, order, inbox, context.StepTimeout, send, _counters);
            var incoming = await LinearStateExchange.RunAsync(exchange, own, ct);
            _counters.Waited(wait.Elapsed.TotalSeconds);
            await context.ReportStep(2 * plan.Count / 3, _counters.Snapshot());

            output = await device.CreateAccumulatorAsync(queries.Rows, spec.Heads, spec.HeadDim, ct);
            var kernel = await device.LinearOutputAsync(spec, queries, keyValues.Handle, incoming, output, ct);
            _counters.Stepped(kernel.TotalSeconds);
            _counters.Ringed(ring.Elapsed.TotalSeconds);
            var result = new ShardResult(device, output);
            output = null;
            return result;
        }
        finally
        {
            output?.Dispose();
            queries.Dispose();
            keyValues.Release();
        }
    }

    /// <summary>The stand-in for a state no shard reads: empty, over the span's tokens.</summary>
    private static LinearState Unread(Attention.LinearAttentionSpec spec, int tokens)
    {
        var state = LinearState.Empty(spec);
        state.Tokens = tokens;
        return state;
    }
}
