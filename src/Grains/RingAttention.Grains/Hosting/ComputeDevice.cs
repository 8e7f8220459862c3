using RingAttention.Attention;
using RingAttention.Kernels;

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

    /// <summary>Runs <paramref name="work"/> on the device when it is free (uploads, downloads: one device operation at a time).</summary>
    public async Task<T> RunAsync<T>(Func<IDeviceResidentBackend, T> work, CancellationToken ct)
    {
        var resident = Resident ?? throw new InvalidOperationException($"{backend.Name} has no device-resident memory");
        await _turn.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => work(resident), ct).ConfigureAwait(false);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Runs a copy-lane operation (allocate, copy bytes of a handle; see <see cref="IDeviceResidentBackend"/>) without
    /// waiting for the kernel in progress: a K/V block streams in or out while the device computes.
    /// </summary>
    public async Task<T> CopyAsync<T>(Func<IDeviceResidentBackend, T> work, CancellationToken ct)
    {
        var resident = Resident ?? throw new InvalidOperationException($"{backend.Name} has no device-resident memory");
        await _copyLane.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await Task.Run(() => work(resident), ct).ConfigureAwait(false);
        }
        finally
        {
            _copyLane.Release();
        }
    }

    /// <summary>One kernel on device-resident operands when the device is free; returns the kernel's own time.</summary>
    public Task<TimeSpan> AccumulateAsync(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken ct) =>
        RunAsync(resident =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            resident.Accumulate(spec, queries, keyValues, accumulator, ct);
            return System.Diagnostics.Stopwatch.GetElapsedTime(start);
        }, ct);

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
