using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Hosting;

/// <summary>
/// The silo's one compute device. Shards on the same silo take turns (one kernel at a time): the backend already
/// uses every core or the whole GPU, and interleaving two shards would only thrash caches. Work runs on the thread
/// pool, never on the grain scheduler.
/// </summary>
/// <param name="memoryBytes">Memory of an accelerator (null for the CPU, whose memory is the host's).</param>
public sealed class ComputeDevice(IAttentionBackend backend, long? memoryBytes = null) : IDisposable
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly SemaphoreSlim _copyLane = new(1, 1);

    public string Name => backend.Name;

    public long? MemoryBytes => memoryBytes;

    /// <summary>
    /// The backend's device-resident capability (a GPU), or null (the CPU, whose memory is the host's): when present,
    /// the ring keeps q, the running result and K/V blocks on the device for the whole job.
    /// </summary>
    public IDeviceResidentBackend? Resident => backend as IDeviceResidentBackend;

    // The lanes are typed: every operation below says which lane it takes, so no caller can put an upload behind the
    // kernel (the copy lane runs beside it on its own stream) or a read of the running result beside the kernel
    // that writes it (the compute lane waits for it). See IDeviceResidentBackend for which calls may overlap.

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

    /// <summary>Compute lane: a running result in the "no key seen" state.</summary>
    public Task<DeviceAccumulator> CreateAccumulatorAsync(int rows, int heads, int headDim, CancellationToken ct) =>
        OnComputeLaneAsync(r => r.CreateAccumulator(rows, heads, headDim), ct);

    /// <summary>Compute lane: a whole host K/V block onto the device.</summary>
    public Task<DeviceKeyValues> UploadBlockAsync(KeyValueBlock block, CancellationToken ct) =>
        OnComputeLaneAsync(r => r.UploadKeyValues(block), ct);

    /// <summary>Compute lane: a whole K/V block back to the host.</summary>
    public Task<KeyValueBlock> DownloadBlockAsync(DeviceKeyValues block, CancellationToken ct) =>
        OnComputeLaneAsync(r => r.DownloadKeyValues(block), ct);

    /// <summary>Compute lane (the kernel writes the running result): output rows to the host.</summary>
    public Task DownloadOutputRowsAsync(DeviceAccumulator accumulator, long firstRow, Memory<float> destination, CancellationToken ct) =>
        OnComputeLaneAsync(r =>
        {
            r.DownloadOutputRows(accumulator, firstRow, destination.Span);
            return true;
        }, ct);

    /// <summary>Compute lane (the kernel writes the running result): the whole lse to the host.</summary>
    public Task DownloadLseAsync(DeviceAccumulator accumulator, Memory<float> destination, CancellationToken ct) =>
        OnComputeLaneAsync(r =>
        {
            r.DownloadLse(accumulator, destination.Span);
            return true;
        }, ct);

    /// <summary>Compute lane: one kernel on device-resident operands; returns the kernel's own time.</summary>
    public Task<TimeSpan> AccumulateAsync(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken ct) =>
        OnComputeLaneAsync(resident =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            resident.Accumulate(spec, queries, keyValues, accumulator, ct);
            return System.Diagnostics.Stopwatch.GetElapsedTime(start);
        }, ct);

    private Task<T> OnComputeLaneAsync<T>(Func<IDeviceResidentBackend, T> work, CancellationToken ct) => OnLaneAsync(_turn, work, ct);

    private Task<T> OnCopyLaneAsync<T>(Func<IDeviceResidentBackend, T> work, CancellationToken ct) => OnLaneAsync(_copyLane, work, ct);

    private async Task<T> OnLaneAsync<T>(SemaphoreSlim lane, Func<IDeviceResidentBackend, T> work, CancellationToken ct)
    {
        var resident = Resident ?? throw new InvalidOperationException($"{backend.Name} has no device-resident memory");
        await lane.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => work(resident), ct).ConfigureAwait(false);
        }
        finally
        {
            lane.Release();
        }
    }

    /// <summary>Runs one kernel when the device is free; returns the kernel's own time (not the wait for the device).</summary>
    public async Task<TimeSpan> AccumulateAsync(AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator, CancellationToken ct)
    {
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() =>
            {
                long start = System.Diagnostics.Stopwatch.GetTimestamp();
                backend.Accumulate(spec, queries, keyValues, accumulator, ct);
                return System.Diagnostics.Stopwatch.GetElapsedTime(start);
            }, ct).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    public void Dispose()
    {
        backend.Dispose();
        _turn.Dispose();
        _copyLane.Dispose();
    }
}
