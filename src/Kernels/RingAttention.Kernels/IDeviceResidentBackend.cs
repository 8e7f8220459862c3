using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels;

/// <summary>
/// Optional capability of a backend whose memory is not the host's (a GPU): shard data is uploaded once, stays on
/// the device for the whole job, and only what must leave it is downloaded. The handles are opaque and owned by the
/// caller, who disposes each exactly when it is consumed; a disposed handle's memory goes back to the backend's pool
/// (reused by the next handle of the same size), so a steady ring allocates nothing per step.
/// Calls are not thread-safe with respect to each other: the caller runs one device operation at a time, with one
/// exception: the copy lane (<see cref="AllocateRows"/>, <see cref="AllocateKeyValues"/>, <see cref="CopyToDevice"/>,
/// <see cref="CopyFromDevice"/>) may run on another thread beside <see cref="Accumulate"/> (copies use their own
/// stream), one copy-lane call at a time, on handles the kernel does not write.
/// </summary>
public interface IDeviceResidentBackend
{
    /// <summary>Copies query rows to the device.</summary>
    DeviceRows UploadRows(TensorRows rows);

    /// <summary>Copies a K/V block to the device (K then V in one buffer).</summary>
    DeviceKeyValues UploadKeyValues(KeyValueBlock block);

    /// <summary>
    /// Device memory for query rows whose bytes arrive later through <see cref="CopyToDevice"/>, a chunk at a time:
    /// a shard's q streams from its file to the device without ever being whole on the host (1M tokens of q in bf16
    /// with 32 heads is 8 GiB, beyond one .NET array).
    /// </summary>
    DeviceRows AllocateRows(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans);

    /// <summary>Device memory for a K/V block (K then V) whose bytes arrive later through <see cref="CopyToDevice"/>.</summary>
    DeviceKeyValues AllocateKeyValues(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans);

    /// <summary>Copies <paramref name="source"/> into a row or K/V handle at byte <paramref name="byteOffset"/> (K/V: V starts after K's bytes).</summary>
    void CopyToDevice(DeviceHandle target, long byteOffset, ReadOnlySpan<byte> source);

    /// <summary>Copies bytes of a row or K/V handle back to the host from byte <paramref name="byteOffset"/>.</summary>
    void CopyFromDevice(DeviceHandle source, long byteOffset, Span<byte> destination);

    /// <summary>
    /// Registers a pinned host array (allocated with <c>GC.AllocateArray(length, pinned: true)</c>) with the device so
    /// that copies to and from it run as direct DMA instead of through the driver's bounce buffer; dispose to unregister
    /// (before the array goes).
    /// </summary>
    IDisposable PageLock<T>(T[] pinnedArray)
        where T : unmanaged;

    /// <summary>Copies output rows <c>[firstRow, firstRow + destination.Length / (heads * headDim))</c> of a running result to the host.</summary>
    void DownloadOutputRows(DeviceAccumulator accumulator, long firstRow, Span<float> destination);

    /// <summary>Copies the whole lse <c>[heads, rows]</c> of a running result to the host.</summary>
    void DownloadLse(DeviceAccumulator accumulator, Span<float> destination);

    /// <summary>A running result on the device in the "no key seen" state (output 0, lse -inf).</summary>
    DeviceAccumulator CreateAccumulator(int rows, int heads, int headDim);

    /// <summary>Same contract as <see cref="IAttentionBackend.Accumulate"/>, on device-resident operands; no host copy.</summary>
    void Accumulate(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken cancellationToken = default);

    /// <summary>Copies a block back to the host (for a receiver in another process).</summary>
    KeyValueBlock DownloadKeyValues(DeviceKeyValues block);

    /// <summary>Copies a running result back to the host.</summary>
    void Download(DeviceAccumulator accumulator, PartialResult destination);

    /// <summary>Device bytes held by live handles (not counting the pool).</summary>
    long ResidentBytes { get; }
}

/// <summary>Base of the opaque device handles: disposal is idempotent and returns the memory to its backend.</summary>
public abstract class DeviceHandle : IDisposable
{
    private int _disposed;

    /// <summary>Bytes this handle holds on the device.</summary>
    public abstract long Bytes { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Gives the memory back (called once).</summary>
    protected abstract void Release();

    protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(IsDisposed, this);
}

/// <summary>Rows of q (or k, v) on a device: <c>[rows, heads, headDim]</c> at the global positions <see cref="Spans"/>.</summary>
public abstract class DeviceRows(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans) : DeviceHandle
{
    public ElementType Type { get; } = type;

    public int Heads { get; } = heads;

    public int HeadDim { get; } = headDim;

    public IReadOnlyList<TokenSpan> Spans { get; } = spans;

    public int Rows { get; } = spans.Sum(s => s.Count);

    /// <summary>Bytes of the rows themselves (the device buffer may be larger).</summary>
    public long DataBytes => (long)Rows * Heads * HeadDim * Type.Size();
}

/// <summary>A K/V block on a device: K then V, each <c>[rows, kvHeads, headDim]</c>, at the global positions <see cref="Spans"/>.</summary>
public abstract class DeviceKeyValues(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans) : DeviceHandle
{
    public ElementType Type { get; } = type;

    public int Heads { get; } = heads;

    public int HeadDim { get; } = headDim;

    public IReadOnlyList<TokenSpan> Spans { get; } = spans;

    public int Rows { get; } = spans.Sum(s => s.Count);

    /// <summary>Bytes of K (V follows at this offset and has as many).</summary>
    public long KeyBytes => (long)Rows * Heads * HeadDim * Type.Size();
}

/// <summary>A running O/LSE (float32) on a device; same layout as <see cref="PartialResult"/>.</summary>
public abstract class DeviceAccumulator(int rows, int heads, int headDim) : DeviceHandle
{
    public int Rows { get; } = rows;

    public int Heads { get; } = heads;

    public int HeadDim { get; } = headDim;
}
