using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels;

/// <summary>Base of the opaque device handles: disposal is idempotent and returns the memory to its backend.</summary>
public abstract class DeviceHandle : IDisposable
{
    private int _disposed;

    /// <summary>Bytes this handle holds on the device (a pooled buffer may be larger than <see cref="DataBytes"/>).</summary>
    public abstract long Bytes { get; }

    /// <summary>Bytes of the data itself: the range <see cref="IAttentionBackend.CopyToDevice"/> and <see cref="IAttentionBackend.CopyFromDevice"/> address.</summary>
    public abstract long DataBytes { get; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// The handle's bytes when the backend's memory is the host's (the CPU backend), else null: a block arriving over
    /// the network is read straight into them, and one leaving is sent straight from them (no staging copy).
    /// </summary>
    public virtual Memory<byte>? HostMemory => null;

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

    public override long DataBytes => (long)Rows * Heads * HeadDim * Type.Size();
}

/// <summary>
/// A K/V block on a device: K then V, each <c>[capacity, kvHeads, headDim]</c>, of which the first <see cref="Rows"/>
/// rows hold the global positions <see cref="Spans"/>. A ring block is always full (capacity = rows); a page of a
/// session's paged KV cache is allocated once at its capacity and filled by appends (<see cref="Refill"/>), so that a
/// growing cache never reallocates or copies its older rows.
/// </summary>
public abstract class DeviceKeyValues : DeviceHandle
{
    private IReadOnlyList<TokenSpan> _spans;

    protected DeviceKeyValues(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(spans);
        Type = type;
        Heads = heads;
        HeadDim = headDim;
        _spans = spans;
        Rows = spans.Sum(s => s.Count);
        Capacity = Rows;
    }

    public ElementType Type { get; }

    public int Heads { get; }

    public int HeadDim { get; }

    /// <summary>Positions of the filled rows, in row order.</summary>
    public IReadOnlyList<TokenSpan> Spans => _spans;

    /// <summary>Filled rows (the kernels read these).</summary>
    public int Rows { get; private set; }

    /// <summary>Rows the memory holds (fixed at allocation).</summary>
    public int Capacity { get; }

    /// <summary>Bytes of K's storage (V follows at this offset and has as many).</summary>
    public long KeyBytes => (long)Capacity * Heads * HeadDim * Type.Size();

    public override long DataBytes => 2 * KeyBytes;

    /// <summary>
    /// Says which positions the first rows now hold (at most <see cref="Capacity"/>): a page's appends write the rows'
    /// bytes first (K at row r's offset, V at <see cref="KeyBytes"/> plus it), then describe them here. Not thread-safe
    /// with a kernel reading this handle.
    /// </summary>
    public void Refill(IReadOnlyList<TokenSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(spans);
        ThrowIfDisposed();
        int rows = spans.Sum(s => s.Count);
        if (rows > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(spans), $"{rows} rows do not fit a block of {Capacity}");
        }

        _spans = spans;
        Rows = rows;
    }
}

/// <summary>
/// A running O/LSE (float32) on a device; same layout as <see cref="PartialResult"/>. As bytes (for
/// <see cref="IAttentionBackend.CopyToDevice"/> and <see cref="IAttentionBackend.CopyFromDevice"/>): O's floats, then LSE's.
/// </summary>
public abstract class DeviceAccumulator(int rows, int heads, int headDim) : DeviceHandle
{
    public int Rows { get; } = rows;

    public int Heads { get; } = heads;

    public int HeadDim { get; } = headDim;

    /// <summary>Bytes of O (LSE follows at this offset: 4 bytes per row and head).</summary>
    public long OutputBytes => 4L * Rows * Heads * HeadDim;

    /// <summary>O then LSE.</summary>
    public override long DataBytes => OutputBytes + 4L * Heads * Rows;
}
