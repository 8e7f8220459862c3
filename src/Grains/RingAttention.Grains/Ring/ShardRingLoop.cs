using System.Diagnostics;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Hosting;
using RingAttention.Kernels;
using RingAttention.Tensors;

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
    Func<int, RingTotals, Task> ReportStep)
{
    /// <summary>Bytes of each reused host buffer a device-resident shard streams its inputs through.</summary>
    public int StagingBytes { get; init; } = 64 << 20;
}

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

    /// <summary>Adds the time the caller spent writing this shard's result (reported with the shard's totals).</summary>
    public void AddWriteSeconds(double seconds)
    {
        _counters.Wrote(seconds);
    }

    /// <summary>Runs every step and returns this shard's result (the caller writes it, then disposes it).</summary>
    public async Task<IShardResult> RunAsync(CancellationToken ct) =>
        context.Device.Resident is null ? new HostShardResult(await RunOnHostAsync(ct)) : await RunResidentAsync(ct);

    /// <summary>The host path (CPU backend): every block is a host <see cref="KeyValueBlock"/>.</summary>
    private async Task<PartialResult> RunOnHostAsync(CancellationToken ct)
    {
        var spec = plan.Spec;
        var attention = spec.ToAttentionSpec();
        var load = Stopwatch.StartNew();
        var (queries, current) = await Task.Run(() => ShardInputs.Load(spec, plan.OwnSpans), ct);
        uint? currentChecksum = null;
        _counters.Loaded(load.Elapsed.TotalSeconds);

        var accumulator = new PartialResult(queries.Rows, spec.Heads, spec.HeadDim);
        for (int step = 0; step < plan.Count; step++)
        {
            Task<(KeyValueBlock Block, uint Checksum)>? next = null;
            if (step + 1 < plan.Count)
            {
                await ForwardAsync(current, currentChecksum, step + 1, ct);
                next = ReceiveAsync(step + 1, ct);
            }

            using var stepActivity = RingTelemetry.Activities.StartActivity("ring step");
            stepActivity?.SetTag("ringattention.step", step);
            var kernel = await context.Device.AccumulateAsync(attention, queries, current, accumulator, ct);
            _counters.Stepped(kernel.TotalSeconds);
            await context.ReportStep(step + 1, _counters.Snapshot());

            if (next is not null)
            {
                var wait = Stopwatch.StartNew();
                (current, currentChecksum) = await next;
                _counters.Waited(wait.Elapsed.TotalSeconds);
            }
        }

        return accumulator;
    }

    /// <summary>
    /// The device-resident path (GPU backend): q, the running O/LSE and the current K/V block live on the device for
    /// the whole job. Own q and K/V stream from the file to the device in chunks; a same-silo hand-off passes the
    /// device block by reference; a block from another silo is fetched into a reused host buffer and uploaded once;
    /// the data plane downloads a block once when its taker is remote; the result stays on the device for the
    /// writer. Every handle is released on every exit.
    /// </summary>
    private async Task<IShardResult> RunResidentAsync(CancellationToken ct)
    {
        var spec = plan.Spec;
        var attention = spec.ToAttentionSpec();
        var device = context.Device;
        DeviceRows? queries = null;
        DeviceAccumulator? accumulator = null;
        DeviceShardResult? result = null;
        ResidentBlock? current = null;
        Task<ResidentBlock>? next = null;
        try
        {
            var load = Stopwatch.StartNew();
            (queries, current) = await LoadResidentAsync(spec, ct);
            _counters.Loaded(load.Elapsed.TotalSeconds);
            int rows = queries.Rows;
            accumulator = await device.CreateAccumulatorAsync(rows, spec.Heads, spec.HeadDim, ct);
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
                _counters.Stepped(kernel.TotalSeconds);
                current = null;
                block.Release();
                await context.ReportStep(step + 1, _counters.Snapshot());

                if (next is not null)
                {
                    var wait = Stopwatch.StartNew();
                    var pending = next;
                    next = null;
                    current = await pending;
                    _counters.Waited(wait.Elapsed.TotalSeconds);
                }
            }

            result = new DeviceShardResult(device, accumulator);
            return result;
        }
        finally
        {
            current?.Release();
            // A receive still pending (failure or cancellation) releases its block whenever it completes.
            _ = next?.ContinueWith(t => t.Result.Release(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
            queries?.Dispose();
            if (result is null)
            {
                accumulator?.Dispose();
            }
        }
    }

    /// <summary>
    /// Streams the shard's q, K and V rows from the file to the device through reused host buffers (never whole on the
    /// host); the CRC of K then V, which a remote taker checks, is computed on the way.
    /// </summary>
    private async Task<(DeviceRows Queries, ResidentBlock KeyValues)> LoadResidentAsync(JobSpec spec, CancellationToken ct)
    {
        var device = context.Device;
        var spans = plan.OwnSpans;
        var queries = await device.AllocateRowsAsync(spec.DType, spec.Heads, spec.HeadDim, spans, ct);
        DeviceKeyValues? keyValues = null;
        try
        {
            await ShardInputs.StreamAsync(spec, spans, TensorNames.Query, spec.Heads, context.StagingBytes,
                (offset, bytes) => device.UploadAsync(queries, offset, bytes, ct), ct, device);
            var kv = keyValues = await device.AllocateKeyValuesAsync(spec.DType, spec.KvHeads, spec.HeadDim, spans, ct);
            var crc = new System.IO.Hashing.Crc32();
            Task Sink(long offset, ReadOnlyMemory<byte> bytes)
            {
                crc.Append(bytes.Span);
                return device.UploadAsync(kv, offset, bytes, ct);
            }

            await ShardInputs.StreamAsync(spec, spans, TensorNames.Key, spec.KvHeads, context.StagingBytes, Sink, ct, device);
            await ShardInputs.StreamAsync(spec, spans, TensorNames.Value, spec.KvHeads, context.StagingBytes,
                (offset, bytes) => Sink(kv.KeyBytes + offset, bytes), ct, device);
            return (queries, new ResidentBlock(device, kv, crc.GetCurrentHashAsUInt32()));
        }
        catch
        {
            queries.Dispose();
            keyValues?.Dispose();
            throw;
        }
    }

    private async Task<ResidentBlock> UploadAsync(KeyValueBlock block, uint checksum, CancellationToken ct)
    {
        var device = context.Device;
        var handle = await device.UploadBlockAsync(block, ct);
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

        return await FetchRemoteToDeviceAsync(announcement, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A block from another silo streams from the sender's device to ours in pieces (<see cref="RingLoopContext.StagingBytes"/>
    /// at most, through two reused host buffers): each piece is uploaded on the copy lane while the next one arrives,
    /// and all of it while this shard's kernel of the current step runs. The block is used only after its whole CRC
    /// matched the announcement.
    /// </summary>
    private async Task<ResidentBlock> FetchRemoteToDeviceAsync(BlockAnnouncement announcement, CancellationToken ct)
    {
        var spec = plan.Spec;
        var spans = plan.ShardSpans[announcement.Owner];
        var device = context.Device;
        var handle = await device.AllocateKeyValuesAsync(spec.DType, spec.KvHeads, spec.HeadDim, spans, ct).ConfigureAwait(false);
        try
        {
            if (handle.KeyBytes * 2 != announcement.Bytes)
            {
                throw new InvalidOperationException($"block of shard {announcement.Owner} is announced as {announcement.Bytes} bytes but its spans hold {handle.KeyBytes * 2}");
            }

            await context.DataClient.FetchStreamingAsync(
                announcement.DataEndpoint, plan.Token, announcement.BlockKey, announcement.Bytes, announcement.Checksum,
                Math.Min(context.StagingBytes, DataPlaneProtocol.PieceBytes), (offset, bytes) => device.UploadAsync(handle, offset, bytes, ct), ct, device).ConfigureAwait(false);
        }
        catch
        {
            handle.Dispose();
            throw;
        }

        _counters.Fetched(announcement.Bytes);
        return new ResidentBlock(device, handle, announcement.Checksum);
    }

    /// <summary>Key of the block shard i hands to shard i+1 for that shard's step <paramref name="step"/>.</summary>
    private string BlockKey(int step) => $"{plan.JobId}/{plan.Attempt}/{step}/{plan.Next}";

    /// <param name="knownChecksum">The CRC a received block was verified against (null for the shard's own block).</param>
    private async Task ForwardAsync(KeyValueBlock block, uint? knownChecksum, int step, CancellationToken ct)
    {
        uint checksum = knownChecksum ?? await Task.Run(() => BlockChecksum.Compute(block), ct);
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
            _counters.HandedOver();
            return local;
        }

        return null;
    }

    /// <summary>Pulls an announced block from the sender silo's data plane into host memory.</summary>
    private async Task<KeyValueBlock> FetchRemoteAsync(BlockAnnouncement announcement, CancellationToken ct)
    {
        byte[] bytes = await context.DataClient.FetchAsync(
            announcement.DataEndpoint, plan.Token, announcement.BlockKey, announcement.Bytes, announcement.Checksum, ct).ConfigureAwait(false);
        _counters.Fetched(bytes.Length);
        return ShardInputs.FromBytes(plan.Spec, plan.ShardSpans[announcement.Owner], bytes);
    }

    private async Task<(KeyValueBlock Block, uint Checksum)> ReceiveAsync(int step, CancellationToken ct)
    {
        var announcement = await AwaitAnnouncementAsync(step, ct).ConfigureAwait(false);
        var block = TakeLocal(announcement) is { } local
            ? await local.ToHostAsync(ct).ConfigureAwait(false)
            : await FetchRemoteAsync(announcement, ct).ConfigureAwait(false);
        return (block, announcement.Checksum);
    }
}
