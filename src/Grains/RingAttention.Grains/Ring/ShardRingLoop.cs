using System.Diagnostics;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Hosting;
using RingAttention.Kernels;

namespace RingAttention.Grains.Ring;

/// <summary>Where a shard's loop finds its collaborators; the grain supplies them.</summary>
/// <param name="Announce">Sends an announcement on the edge stream to the next shard (runs on the grain scheduler).</param>
/// <param name="ReportStep">Tells the coordinator a step is done.</param>
public sealed record RingLoopContext(
    ComputeDevice Device,
    BlockStore Store,
    DataPlaneClient DataClient,
    RingInbox Inbox,
    string LocalSiloId,
    string DataEndpoint,
    TimeSpan StepTimeout,
    Func<BlockAnnouncement, Task> Announce,
    Func<int, RingTotals, Task> ReportStep);

/// <summary>
/// One shard's pass around the ring. At step s the shard computes its queries against the K/V block of shard
/// (i - s) mod R, which it received at the end of step s-1. Before computing step s it forwards that block to shard
/// i+1 and posts the receive of step s+1, so the transfer overlaps the kernel (ring-flash-attention's order).
/// After R steps every query has seen every key; the merge is order-free, so arrival order cannot change the result.
/// </summary>
public sealed class ShardRingLoop(ShardPlan plan, RingLoopContext context)
{
    private readonly RingCounters _counters = new();

    public RingTotals Totals => _counters.Snapshot();

    /// <summary>Runs every step and returns this shard's result (the caller writes it).</summary>
    public Task<PartialResult> RunAsync(CancellationToken ct) =>
        context.Device.Resident is null ? RunOnHostAsync(ct) : RunResidentAsync(ct);

    /// <summary>The host path (CPU backend): every block is a host <see cref="KeyValueBlock"/>.</summary>
    private async Task<PartialResult> RunOnHostAsync(CancellationToken ct)
    {
        var spec = plan.Spec;
        var attention = spec.ToAttentionSpec();
        var load = Stopwatch.StartNew();
        var (queries, current) = await Task.Run(() => ShardInputs.Load(spec, plan.OwnSpans), ct);
        _counters.Add(new RingTotals { LoadSeconds = load.Elapsed.TotalSeconds });

        var accumulator = new PartialResult(queries.Rows, spec.Heads, spec.HeadDim);
        for (int step = 0; step < plan.Count; step++)
        {
            Task<KeyValueBlock>? next = null;
            if (step + 1 < plan.Count)
            {
                await ForwardAsync(current, step + 1, ct);
                next = ReceiveAsync(step + 1, ct);
            }

            using var stepActivity = RingTelemetry.Activities.StartActivity("ring step");
            stepActivity?.SetTag("ringattention.step", step);
            var kernel = await context.Device.AccumulateAsync(attention, queries, current, accumulator, ct);
            _counters.Add(new RingTotals { ComputeSeconds = kernel.TotalSeconds });
            RingTelemetry.KernelSeconds.Record(kernel.TotalSeconds);
            RingTelemetry.RingSteps.Add(1);
            await context.ReportStep(step + 1, _counters.Snapshot());

            if (next is not null)
            {
                var wait = Stopwatch.StartNew();
                current = await next;
                _counters.Add(new RingTotals { WaitSeconds = wait.Elapsed.TotalSeconds });
                RingTelemetry.WaitSeconds.Record(wait.Elapsed.TotalSeconds);
            }
        }

        return accumulator;
    }

    /// <summary>
    /// The device-resident path (GPU backend): q, the running O/LSE and the current K/V block live on the device for
    /// the whole job. Own K/V is uploaded once; a same-silo hand-off passes the device block by reference; a block
    /// from another silo is fetched to the host and uploaded once; the data plane downloads a block once when its
    /// taker is remote; the result is downloaded once at the end. Every handle is released on every exit.
    /// </summary>
    private async Task<PartialResult> RunResidentAsync(CancellationToken ct)
    {
        var spec = plan.Spec;
        var attention = spec.ToAttentionSpec();
        var device = context.Device;
        DeviceRows? queries = null;
        DeviceAccumulator? accumulator = null;
        ResidentBlock? current = null;
        Task<ResidentBlock>? next = null;
        try
        {
            var load = Stopwatch.StartNew();
            (queries, current) = await LoadResidentAsync(spec, ct);
            _counters.Add(new RingTotals { LoadSeconds = load.Elapsed.TotalSeconds });
            int rows = queries.Rows;
            accumulator = await device.RunAsync(r => r.CreateAccumulator(rows, spec.Heads, spec.HeadDim), ct);
            for (int step = 0; step < plan.Count; step++)
            {
                var block = current ?? throw new InvalidOperationException($"shard {plan.Index} has no K/V block at step {step}");
                if (step + 1 < plan.Count)
                {
                    await ForwardResidentAsync(block, step + 1, ct);
                    next = ReceiveResidentAsync(step + 1, ct);
                }

                using var stepActivity = RingTelemetry.Activities.StartActivity("ring step");
                stepActivity?.SetTag("ringattention.step", step);
                var kernel = await device.AccumulateAsync(attention, queries, block.Handle, accumulator, ct);
                _counters.Add(new RingTotals { ComputeSeconds = kernel.TotalSeconds });
                RingTelemetry.KernelSeconds.Record(kernel.TotalSeconds);
                RingTelemetry.RingSteps.Add(1);
                current = null;
                block.Release();
                await context.ReportStep(step + 1, _counters.Snapshot());

                if (next is not null)
                {
                    var wait = Stopwatch.StartNew();
                    var pending = next;
                    next = null;
                    current = await pending;
                    _counters.Add(new RingTotals { WaitSeconds = wait.Elapsed.TotalSeconds });
                    RingTelemetry.WaitSeconds.Record(wait.Elapsed.TotalSeconds);
                }
            }

            var result = new PartialResult(queries.Rows, spec.Heads, spec.HeadDim);
            var acc = accumulator;
            await device.RunAsync(r =>
            {
                r.Download(acc, result);
                return true;
            }, ct);
            return result;
        }
        finally
        {
            current?.Release();
            // A receive still pending (failure or cancellation) releases its block whenever it completes.
            _ = next?.ContinueWith(t => t.Result.Release(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            queries?.Dispose();
            accumulator?.Dispose();
        }
    }

    /// <summary>Reads the shard's rows on the host, uploads q and K/V once and lets the host copies go.</summary>
    private async Task<(DeviceRows Queries, ResidentBlock KeyValues)> LoadResidentAsync(JobSpec spec, CancellationToken ct)
    {
        var (hostQueries, hostBlock) = await Task.Run(() => ShardInputs.Load(spec, plan.OwnSpans), ct);
        uint checksum = await Task.Run(() => BlockChecksum.Compute(hostBlock), ct);
        var queries = await context.Device.RunAsync(r => r.UploadRows(hostQueries), ct);
        try
        {
            return (queries, await UploadAsync(hostBlock, checksum, ct));
        }
        catch
        {
            queries.Dispose();
            throw;
        }
    }

    private async Task<ResidentBlock> UploadAsync(KeyValueBlock block, uint checksum, CancellationToken ct)
    {
        var device = context.Device;
        var handle = await device.RunAsync(r => r.UploadKeyValues(block), ct);
        return new ResidentBlock(device, handle, checksum);
    }

    private async Task ForwardResidentAsync(ResidentBlock block, int step, CancellationToken ct)
    {
        string key = BlockKey(step);
        block.AddReference();
        try
        {
            context.Store.Put(key, new StoredBlock(plan.JobId, plan.Attempt, plan.Token, null, block.Checksum) { Resident = block });
        }
        catch
        {
            block.Release();
            throw;
        }

        ct.ThrowIfCancellationRequested();
        await AnnounceAsync(key, step, block.Bytes, block.Checksum);
    }

    private async Task<ResidentBlock> ReceiveResidentAsync(int step, CancellationToken ct)
    {
        var announcement = await AwaitAnnouncementAsync(step, ct).ConfigureAwait(false);
        if (TakeLocal(announcement) is { } local)
        {
            if (local.Resident is ResidentBlock resident)
            {
                return resident; // the store's reference is now ours
            }

            var host = await local.ToHostAsync(ct).ConfigureAwait(false);
            return await UploadAsync(host, local.Checksum, ct).ConfigureAwait(false);
        }

        var fetched = await FetchRemoteAsync(announcement, ct).ConfigureAwait(false);
        return await UploadAsync(fetched, announcement.Checksum, ct).ConfigureAwait(false);
    }

    /// <summary>Key of the block shard i hands to shard i+1 for that shard's step <paramref name="step"/>.</summary>
    private string BlockKey(int step) => $"{plan.JobId}/{plan.Attempt}/{step}/{plan.Next}";

    private async Task ForwardAsync(KeyValueBlock block, int step, CancellationToken ct)
    {
        uint checksum = await Task.Run(() => BlockChecksum.Compute(block), ct);
        string key = BlockKey(step);
        context.Store.Put(key, new StoredBlock(plan.JobId, plan.Attempt, plan.Token, block, checksum));
        await AnnounceAsync(key, step, block.Bytes, checksum);
    }

    /// <summary>Tells shard i+1 that the block for its step <paramref name="step"/> waits under <paramref name="key"/>.</summary>
    private Task AnnounceAsync(string key, int step, long bytes, uint checksum) => context.Announce(new BlockAnnouncement
    {
        JobId = plan.JobId,
        Attempt = plan.Attempt,
        Step = step,
        Owner = plan.BlockOwnerAt(step - 1),
        BlockKey = key,
        Bytes = bytes,
        Checksum = checksum,
        SiloId = context.LocalSiloId,
        DataEndpoint = context.DataEndpoint,
    });

    /// <summary>Waits for the announcement of step <paramref name="step"/> and checks it carries the expected shard's block.</summary>
    private async Task<BlockAnnouncement> AwaitAnnouncementAsync(int step, CancellationToken ct)
    {
        var announcement = await context.Inbox.WaitAsync(plan.Attempt, step, context.StepTimeout, ct).ConfigureAwait(false);
        context.Inbox.Forget(plan.Attempt, step);
        int expectedOwner = plan.BlockOwnerAt(step);
        if (announcement.Owner != expectedOwner)
        {
            throw new InvalidOperationException($"step {step} of shard {plan.Index} expected the block of shard {expectedOwner}, got shard {announcement.Owner}'s");
        }

        return announcement;
    }

    /// <summary>Same silo: takes the stored block (the caller owns it then); null when it must come over the data plane.</summary>
    private StoredBlock? TakeLocal(BlockAnnouncement announcement)
    {
        if (announcement.SiloId == context.LocalSiloId && context.Store.TryTake(announcement.BlockKey, out var local))
        {
            _counters.Add(new RingTotals { LocalHandoffs = 1 });
            return local;
        }

        return null;
    }

    /// <summary>Pulls an announced block from the sender silo's data plane into host memory.</summary>
    private async Task<KeyValueBlock> FetchRemoteAsync(BlockAnnouncement announcement, CancellationToken ct)
    {
        byte[] bytes = await context.DataClient.FetchAsync(
            announcement.DataEndpoint, plan.Token, announcement.BlockKey, announcement.Bytes, announcement.Checksum, ct).ConfigureAwait(false);
        _counters.Add(new RingTotals { BytesMoved = bytes.Length, RemoteTransfers = 1 });
        RingTelemetry.BytesMoved.Add(bytes.Length);
        return ShardInputs.FromBytes(plan.Spec, plan.ShardSpans[announcement.Owner], bytes);
    }

    private async Task<KeyValueBlock> ReceiveAsync(int step, CancellationToken ct)
    {
        var announcement = await AwaitAnnouncementAsync(step, ct).ConfigureAwait(false);
        return TakeLocal(announcement) is { } local
            ? await local.ToHostAsync(ct).ConfigureAwait(false)
            : await FetchRemoteAsync(announcement, ct).ConfigureAwait(false);
    }
}
