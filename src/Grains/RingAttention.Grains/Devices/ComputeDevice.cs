using RingAttention.Attention;
using RingAttention.Grains.Telemetry;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Devices;

/// <summary>
/// One compute device of the silo (a silo may own several: <see cref="DeviceSet"/>). Shards on the same device take
/// turns (one kernel at a time): the backend already uses every core or the whole GPU, and interleaving two shards
/// would only thrash caches. Work runs on the thread pool, never on the grain scheduler.
/// </summary>
/// <param name="facts">What an operator needs to tell this device apart (advertised in the silo metadata).</param>
public sealed class ComputeDevice(IAttentionBackend backend, DeviceFacts? facts = null) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly SemaphoreSlim _copyLane = new(1, 1);
    private readonly AttendQueue _attends = new();

    public string Name => backend.Name;

    public DeviceFacts Facts { get; } = facts ?? new DeviceFacts(backend.Name, backend.Name, backend.MemoryBytes, null, null);

    /// <summary>Memory of an accelerator, for admission; null for the CPU, whose memory is the host's.</summary>
    public long? MemoryBytes => backend.MemoryBytes;

    /// <summary>Bytes held by live handles (a finished job leaves none).</summary>
    public long ResidentBytes => backend.ResidentBytes;

    /// <summary>The backend, for what needs no lane: page-locking a staging buffer.</summary>
    public IAttentionBackend Backend => backend;

    // The lanes are typed: every operation below says which lane it takes, so no caller can put an upload behind the
    // kernel (the copy lane runs beside it on its own stream) or a read of the running result beside the kernel
    // that writes it (the compute lane waits for it). See IAttentionBackend for which calls may overlap.

    /// <summary>Copy lane: device memory for query rows whose bytes arrive later through <see cref="UploadAsync"/>.</summary>
    public Task<DeviceRows> AllocateRowsAsync(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans, CancellationToken ct) =>
        OnCopyLaneAsync(r => r.AllocateRows(type, heads, headDim, spans), ct);

    /// <summary>Copy lane: device memory for a K/V block whose bytes arrive later through <see cref="UploadAsync"/>.</summary>
    public Task<DeviceKeyValues> AllocateKeyValuesAsync(ElementType type, int kvHeads, int headDim, IReadOnlyList<TokenSpan> spans, CancellationToken ct) =>
        OnCopyLaneAsync(r => r.AllocateKeyValues(type, kvHeads, headDim, spans), ct);

    /// <summary>Copy lane: bytes into a row or K/V handle the kernel does not read yet (a piece of a block arriving).</summary>
    public Task UploadAsync(DeviceHandle target, long byteOffset, ReadOnlyMemory<byte> bytes, CancellationToken ct) =>
        OnCopyLaneAsync(r =>
        {
            r.CopyToDevice(target, byteOffset, bytes.Span);
            return true;
        }, ct);

    /// <summary>Copy lane: bytes of a row or K/V handle the kernel does not write (a block leaving for another silo).</summary>
    public Task DownloadAsync(DeviceHandle source, long byteOffset, Memory<byte> destination, CancellationToken ct) =>
        OnCopyLaneAsync(r =>
        {
            r.CopyFromDevice(source, byteOffset, destination.Span);
            return true;
        }, ct);

    /// <summary>
    /// Copy lane of this (the receiving) device: all of <paramref name="source"/>, a handle on another device of the
    /// silo, into <paramref name="target"/> device to device; false when this device cannot reach the source's memory.
    /// </summary>
    public Task<bool> TryCopyFromPeerAsync(DeviceHandle target, DeviceHandle source, CancellationToken ct) =>
        OnCopyLaneAsync(r => r.TryCopyFromPeer(target, source), ct);

    /// <summary>Copy lane: the handle's memory exported for another process of the host (CUDA IPC), or null.</summary>
    public Task<byte[]?> ExportForProcessAsync(DeviceHandle handle, CancellationToken ct) =>
        OnCopyLaneAsync(r => r.ExportForProcess(handle), ct);

    /// <summary>Copy lane: <paramref name="bytes"/> of another process's exported memory into <paramref name="target"/>; false when it cannot be opened here.</summary>
    public Task<bool> TryCopyFromProcessAsync(DeviceHandle target, byte[] exported, long bytes, CancellationToken ct) =>
        OnCopyLaneAsync(r => r.TryCopyFromProcess(target, exported, bytes), ct);

    /// <summary>Compute lane: a running result in the "no key seen" state.</summary>
    public Task<DeviceAccumulator> CreateAccumulatorAsync(int rows, int heads, int headDim, CancellationToken ct) =>
        OnComputeLaneAsync(r => r.CreateAccumulator(rows, heads, headDim), ct);

    /// <summary>
    /// Copy lane: output rows of a finished result to the host (every compute call synchronizes before it returns, so
    /// the kernels that wrote them are done). Not the compute lane: shards sharing a device kept computing while the
    /// first finished downloaded its rows, instead of waiting out gigabytes of copies (NOTES v8c).
    /// </summary>
    public Task DownloadOutputRowsAsync(DeviceAccumulator accumulator, long firstRow, Memory<float> destination, CancellationToken ct) =>
        OnCopyLaneAsync(r =>
        {
            r.DownloadOutputRows(accumulator, firstRow, destination.Span);
            return true;
        }, ct);

    /// <summary>Copy lane, as <see cref="DownloadOutputRowsAsync"/>: the whole lse of a finished result to the host.</summary>
    public Task DownloadLseAsync(DeviceAccumulator accumulator, Memory<float> destination, CancellationToken ct) =>
        OnCopyLaneAsync(r =>
        {
            r.DownloadLse(accumulator, destination.Span);
            return true;
        }, ct);

    /// <summary>Compute lane: one kernel on device-resident operands; returns the kernel's own time.</summary>
    /// <summary>
    /// Compute lane: one ring step. A block kept in FP8 (<see cref="AttentionSpec.KeyValueScales"/>) is dequantised to
    /// bfloat16 into a block of its own first (pooled on a GPU), used for this step only.
    /// </summary>
    public Task<TimeSpan> AccumulateAsync(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken ct) =>
        OnComputeLaneAsync(resident =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            if (keyValues.Type == ElementType.F8E4M3 && spec.KeyValueScales is { } scales)
            {
                using var block = resident.AllocateKeyValues(spec.DType, keyValues.Heads, keyValues.HeadDim, keyValues.Spans);
                resident.DequantiseFp8(keyValues, block, scales);
                resident.Accumulate(spec, queries, block, accumulator, ct);
            }
            else
            {
                resident.Accumulate(spec, queries, keyValues, accumulator, ct);
            }

            return System.Diagnostics.Stopwatch.GetElapsedTime(start);
        }, ct);

    /// <summary>
    /// How long a node of a session's merge tree waits for the other nodes expected on this device before its turn goes
    /// without them (<see cref="AttendQueue"/>). Their calls arrive within a millisecond or so of each other (the tree's
    /// hops); this covers a slow thread pool, and a node that never comes is remembered and not waited for again.
    /// </summary>
    public TimeSpan GroupWait { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// Compute lane, one turn: <paramref name="queries"/> up, the kernel over several blocks in order (a session shard's
    /// pages), the partial result down. One turn rather than one per step: a decode attend is a fraction of a
    /// millisecond of kernel, and each lane hop costs a thread-pool round trip. Attends with the same queries waiting
    /// for the lane share the turn (<see cref="AttendQueue"/>: the shards of a session on this device); the nodes of one
    /// session attend (<paramref name="tree"/>) wait for each other first, and merge on the device along the session's
    /// tree (<see cref="MergePlan"/>): one partial leaves the device where there were several (ADR 27).
    /// </summary>
    public async Task<ShardPartial> AttendEachAsync(AttentionSpec spec, TensorRows queries, IReadOnlyList<DeviceKeyValues> blocks, AttendTree? tree, CancellationToken ct)
    {
        var mine = _attends.Enqueue(spec, queries, blocks, tree);
        try
        {
            if (!mine.Ready.Task.IsCompleted)
            {
                using (RingTelemetry.Activities.StartActivity("group wait"))
                {
                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                    var waited = await Task.WhenAny(mine.Ready.Task, Task.Delay(GroupWait, timeout.Token)).ConfigureAwait(false);
                    await timeout.CancelAsync().ConfigureAwait(false);
                    ct.ThrowIfCancellationRequested();
                    if (waited != mine.Ready.Task)
                    {
                        _attends.GiveUp(mine);
                    }
                }
            }

            using (RingTelemetry.Activities.StartActivity("lane wait"))
            {
                await _turn.WaitAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!_attends.Withdraw(mine))
        {
            // A turn took this attend before the cancellation: its answer is on the way.
            return await mine.Answer.Task.ConfigureAwait(false);
        }

        try
        {
            var batch = _attends.Take(mine);
            if (batch.Count > 0)
            {
                Interlocked.Increment(ref _attendTurns);
                await Task.Run(() => RunAttends(batch), CancellationToken.None).ConfigureAwait(false);
            }
        }
        finally
        {
            _turn.Release();
        }

        return await mine.Answer.Task.ConfigureAwait(false);
    }

    /// <summary>Compute-lane turns that ran attends (several attends may share one).</summary>
    public long AttendTurns => Interlocked.Read(ref _attendTurns);

    /// <summary>Partials merged on this device instead of leaving it (tests read it; the timeline has a "merges" phase).</summary>
    public long DeviceMerges => Interlocked.Read(ref _deviceMerges);

    private long _attendTurns;
    private long _deviceMerges;

    /// <summary>One turn for attends with the same queries: one upload, their shards together, the tree's merges on the
    /// device, each answer set (a partial merged into its parent's answers with none).</summary>
    private void RunAttends(IReadOnlyList<AttendQueue.Pending> batch)
    {
        var first = batch[0];
        var accumulators = new List<DeviceAccumulator>();
        // The turn's phases as activities ("attend turn" and its parts): `ringattn session attend --timeline` prints them.
        using var turn = RingTelemetry.Activities.StartActivity("attend turn")?.SetTag("shards", batch.Count);
        try
        {
            var upload = RingTelemetry.Activities.StartActivity("upload q");
            using var q = backend.UploadRows(first.Queries);
            upload?.Dispose();
            using (RingTelemetry.Activities.StartActivity("accumulators"))
            {
                accumulators.AddRange(backend.CreateAccumulators(batch.Count, first.Queries.Rows, first.Spec.Heads, first.Spec.HeadDim));
            }

            using (RingTelemetry.Activities.StartActivity("kernels"))
            {
                backend.AccumulateShards(first.Spec, q, [.. batch.Select(b => b.Blocks)], accumulators);
            }

            var plan = MergePlan.For([.. batch.Select(b => b.Tree)]);
            if (plan.Merges.Count > 0)
            {
                using (RingTelemetry.Activities.StartActivity("merges")?.SetTag("merges", plan.Merges.Count))
                {
                    backend.MergeAccumulators([.. plan.Merges.Select(m => (accumulators[m.Target], accumulators[m.Source]))]);
                }

                Interlocked.Add(ref _deviceMerges, plan.Merges.Count);
            }

            var results = new ShardPartial[batch.Count];
            using (RingTelemetry.Activities.StartActivity("downloads"))
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    if (plan.MergedIntoParent[i])
                    {
                        results[i] = new ShardPartial(null, 0);
                        continue;
                    }

                    var result = PartialResult.ToOverwrite(first.Queries.Rows, first.Spec.Heads, first.Spec.HeadDim);
                    backend.Download(accumulators[i], result);
                    results[i] = new ShardPartial(result, plan.Through[i]);
                }
            }

            for (int i = 0; i < batch.Count; i++)
            {
                batch[i].Answer.TrySetResult(results[i]);
            }
        }
        catch (Exception e)
        {
            foreach (var pending in batch)
            {
                pending.Answer.TrySetException(e);
            }
        }
        finally
        {
            foreach (var accumulator in accumulators)
            {
                accumulator.Dispose();
            }
        }
    }

    /// <summary>Compute lane: linear attention's state of each span of <paramref name="keyValues"/> alone.</summary>
    public Task<IReadOnlyList<Kernels.Linear.LinearState>> LinearSpanStatesAsync(LinearAttentionSpec spec, DeviceKeyValues keyValues, CancellationToken ct) =>
        OnComputeLaneAsync(resident => resident.LinearSpanStates(spec, keyValues, ct), ct);

    /// <summary>Compute lane: linear attention's o of the shard's rows, each span from its incoming state; returns the kernels' time.</summary>
    public Task<TimeSpan> LinearOutputAsync(LinearAttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues,
        IReadOnlyList<Kernels.Linear.LinearState> incoming, DeviceAccumulator output, CancellationToken ct) =>
        OnComputeLaneAsync(resident =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            resident.LinearOutput(spec, queries, keyValues, incoming, output, ct);
            return System.Diagnostics.Stopwatch.GetElapsedTime(start);
        }, ct);

    private Task<T> OnComputeLaneAsync<T>(Func<IAttentionBackend, T> work, CancellationToken ct) => OnLaneAsync(_turn, work, ct);

    private Task<T> OnCopyLaneAsync<T>(Func<IAttentionBackend, T> work, CancellationToken ct) => OnLaneAsync(_copyLane, work, ct);

    private async Task<T> OnLaneAsync<T>(SemaphoreSlim lane, Func<IAttentionBackend, T> work, CancellationToken ct)
    {
        await lane.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => work(backend), ct).ConfigureAwait(false);
        }
        finally
        {
            lane.Release();
        }
    }

    public void Dispose()
    {
        backend.Dispose();
        _turn.Dispose();
        _copyLane.Dispose();
    }
}
