using System.Diagnostics;
using RingAttention.Attention;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Telemetry;
using RingAttention.Grains.Transfer;
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
    /// <summary>Bytes of each reused host buffer a shard streams its inputs through.</summary>
    public int StagingBytes { get; init; } = 64 << 20;

    /// <summary>Offer blocks to other processes of the host device to device (<see cref="Configuration.RingAttentionOptions.ProcessHandoff"/>).</summary>
    public bool ProcessHandoff { get; init; } = true;
}

/// <summary>
/// One shard's pass around the ring. At step s the shard computes its queries against the K/V block of shard
/// (i - s) mod R, which it received at the end of step s-1. Before computing step s it forwards that block to shard
/// i+1 and posts the receive of step s+1, so the transfer overlaps the kernel (ring-flash-attention's order).
/// After R steps every query has seen every key; the merge is order-free, so arrival order cannot change the result.
/// </summary>
public sealed class ShardRingLoop(ShardPlan plan, RingLoopContext context) : IShardLoop
{
    private readonly RingCounters _counters = new();

    public RingTotals Totals => _counters.Snapshot();

    /// <summary>Adds the time the caller spent writing this shard's result (reported with the shard's totals).</summary>
    public void AddWriteSeconds(double seconds)
    {
        _counters.Wrote(seconds);
    }

    /// <summary>
    /// Runs every step and returns this shard's result (the caller writes it, then disposes it). q, the running O/LSE
    /// and the current K/V block live in the backend's memory (a GPU's, or the host's) for the whole job. Own q and K/V
    /// stream from the file in chunks; a same-silo hand-off passes the block by reference; a block from another silo
    /// is fetched into its buffer (directly in host memory, piece by piece through the copy lane on a device); the data
    /// plane sends a block once when its taker is remote; the result stays put for the writer. The spec is validated
    /// once, here; every handle is released on every exit.
    /// </summary>
    public async Task<ShardResult> RunAsync(CancellationToken ct)
    {
        var spec = plan.Spec;
        var attention = spec.ToAttentionSpec() with { KeyValueScales = ShardInputs.KeyValueScales(spec) };
        attention.Validate();
        var device = context.Device;
        DeviceRows? queries = null;
        DeviceAccumulator? accumulator = null;
        ShardResult? result = null;
        ResidentBlock? current = null;
        Task<ResidentBlock>? next = null;
        try
        {
            var load = Stopwatch.StartNew();
            (queries, current) = await ShardLoader.LoadAsync(plan, context.Device, context.StagingBytes, ct);
            _counters.Loaded(load.Elapsed.TotalSeconds);
            accumulator = await device.CreateAccumulatorAsync(queries.Rows, spec.Heads, spec.HeadDim, ct);
            var ring = Stopwatch.StartNew();
            _counters.RingStarted();
            for (int step = 0; step < plan.Count; step++)
            {
                var block = current ?? throw new InvalidOperationException($"shard {plan.Index} has no K/V block at step {step}");
                if (step + 1 < plan.Count)
                {
                    await ForwardAsync(block, step + 1, ct);
                    next = ReceiveAsync(step + 1, ct);
                }

                using var stepActivity = RingTelemetry.Activities.StartActivity("ring step");
                stepActivity?.SetTag("ringattention.step", step);
                var kernel = await device.AccumulateAsync(attention, queries, block.Handle, accumulator, ct);
                _counters.Stepped(kernel.TotalSeconds);
                if (step + 1 == plan.Count)
                {
                    _counters.Ringed(ring.Elapsed.TotalSeconds);
                }

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

            result = new ShardResult(device, accumulator);
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

    /// <summary>Publishes the block for shard i+1's step <paramref name="step"/> (another reference to it) and announces it.</summary>
    private async Task ForwardAsync(ResidentBlock block, int step, CancellationToken ct)
    {
        string key = BlockKey(step);
        block.AddReference();
        try
        {
            context.Store.Put(key, new StoredBlock(plan.JobId, plan.Attempt, plan.Token, block));
        }
        catch
        {
            block.Release();
            throw;
        }

        ct.ThrowIfCancellationRequested();
        // Exported for another process of this host (CUDA IPC): the store's reference keeps the memory allocated until
        // the taker has copied it and released it, or the attempt ends.
        // No ConfigureAwait(false): the announcement below is a grain call and must leave from the grain's scheduler
        // (from a pool thread it would count as a client's call, which a cluster token guards).
        var exported = context.ProcessHandoff ? await context.Device.ExportForProcessAsync(block.Handle, ct) : null;
        await AnnounceAsync(key, step, block.Bytes, block.Checksum, exported);
    }

    private async Task<ResidentBlock> ReceiveAsync(int step, CancellationToken ct)
    {
        var announcement = await AwaitAnnouncementAsync(step, ct).ConfigureAwait(false);
        if (TakeLocal(announcement) is { } local)
        {
            // The store's reference is now ours. On this shard's device it is used as is; on another device of the
            // silo it is copied here (device to device where they reach each other) while this step's kernel runs.
            var block = (ResidentBlock)local.Block;
            if (ReferenceEquals(block.Device, context.Device))
            {
                _counters.HandedOver();
                return block;
            }

            var (copy, staged) = await block.CopyToAsync(context.Device, Math.Min(context.StagingBytes, DataPlaneProtocol.PieceBytes), ct).ConfigureAwait(false);
            _counters.CopiedAcrossDevices(copy.Bytes, staged);
            return copy;
        }

        return await FetchRemoteAsync(announcement, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A block from another silo, while this shard's kernel of the current step runs. Into host memory (the CPU
    /// backend) it is read straight into the block's buffer; to a device it streams in pieces
    /// (<see cref="RingLoopContext.StagingBytes"/> at most, through two reused host buffers), each uploaded on the copy
    /// lane while the next one arrives. The block is used only after its whole CRC matched the announcement.
    /// </summary>
    private async Task<ResidentBlock> FetchRemoteAsync(BlockAnnouncement announcement, CancellationToken ct)
    {
        var spec = plan.Spec;
        var spans = plan.ShardSpans[announcement.Owner];
        var device = context.Device;
        var handle = await device.AllocateKeyValuesAsync(spec.KeyValueType, spec.KvHeads, spec.HeadDim, spans, ct).ConfigureAwait(false);
        try
        {
            if (handle.KeyBytes * 2 != announcement.Bytes)
            {
                throw new InvalidOperationException($"block of shard {announcement.Owner} is announced as {announcement.Bytes} bytes but its spans hold {handle.KeyBytes * 2}");
            }

            if (await TryCopyFromProcessAsync(announcement, handle, ct).ConfigureAwait(false))
            {
                return new ResidentBlock(device, handle, new BlockCrcs(announcement.Checksum, []));
            }

            var crcs = handle.HostMemory is { } host
                ? await context.DataClient.FetchIntoAsync(
                    announcement.DataEndpoint, plan.Token, announcement.BlockKey, host, announcement.Checksum, ct).ConfigureAwait(false)
                : await context.DataClient.FetchStreamingAsync(
                    announcement.DataEndpoint, plan.Token, announcement.BlockKey, announcement.Bytes, announcement.Checksum,
                    Math.Min(context.StagingBytes, DataPlaneProtocol.PieceBytes), (offset, bytes) => device.UploadAsync(handle, offset, bytes, ct), ct, device).ConfigureAwait(false);
            _counters.Fetched(announcement.Bytes);
            return new ResidentBlock(device, handle, crcs);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Another process of this host that exported the block (one silo per GPU): opens its device memory and copies it
    /// device to device on this device's copy lane, then tells the sender to let its copy go (best effort: if that
    /// fails, the sender frees it when the attempt ends). False when it cannot be done here: the data plane carries it.
    /// </summary>
    private async Task<bool> TryCopyFromProcessAsync(BlockAnnouncement announcement, DeviceKeyValues handle, CancellationToken ct)
    {
        if (announcement.ProcessHandle is not { } exported || !ProcessIdentity.IsOtherProcessOfThisHost(announcement.Process)
            || !await context.Device.TryCopyFromProcessAsync(handle, exported, announcement.Bytes, ct).ConfigureAwait(false))
        {
            return false;
        }

        _counters.CopiedFromProcess(announcement.Bytes);
        try
        {
            await context.DataClient.ReleaseAsync(announcement.DataEndpoint, plan.Token, announcement.BlockKey, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is DataPlaneException or IOException or System.Net.Sockets.SocketException)
        {
            // The copy is ours already; the sender's block store drops the block with the attempt.
        }

        return true;
    }

    /// <summary>Key of the block shard i hands to shard i+1 for that shard's step <paramref name="step"/>.</summary>
    private string BlockKey(int step) => $"{plan.JobId}/{plan.Attempt}/{step}/{plan.Next}";

    /// <summary>Tells shard i+1 that the block for its step <paramref name="step"/> waits under <paramref name="key"/>.</summary>
    private Task AnnounceAsync(string key, int step, long bytes, uint checksum, byte[]? exported) => context.Announce(new BlockAnnouncement
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
        Process = ProcessIdentity.Current,
        ProcessHandle = exported,
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
    private StoredBlock? TakeLocal(BlockAnnouncement announcement) =>
        announcement.SiloId == context.LocalSiloId && context.Store.TryTake(announcement.BlockKey, out var local) ? local : null;
}
