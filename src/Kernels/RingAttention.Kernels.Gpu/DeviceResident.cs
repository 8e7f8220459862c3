using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>The device-resident half of the ILGPU backends (<see cref="IDeviceResidentBackend"/>).</summary>
public abstract partial class IlgpuAttentionBackend
{
    public long ResidentBytes => Pool.LiveBytes;

    /// <summary>Buffers the resident pool has allocated so far (tests).</summary>
    internal int ResidentAllocations => Pool.Allocations;

    public DeviceRows UploadRows(TensorRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var handle = AllocateRows(rows.Type, rows.Heads, rows.HeadDim, rows.Spans);
        try
        {
            CopyToDevice(handle, 0, rows.Data.Span);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public DeviceKeyValues UploadKeyValues(KeyValueBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var handle = AllocateKeyValues(block.Keys.Type, block.Keys.Heads, block.Keys.HeadDim, block.Keys.Spans);
        try
        {
            CopyToDevice(handle, 0, block.Keys.Data.Span);
            CopyToDevice(handle, block.Keys.Data.Length, block.Values.Data.Span);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public DeviceRows AllocateRows(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(spans);
        long bytes = (long)spans.Sum(s => (long)s.Count) * heads * headDim * type.Size();
        var buffer = Pool.Rent(bytes, $"{spans.Sum(s => (long)s.Count)} query rows ({bytes:N0} B)");
        return new IlgpuRows(this, buffer, type, heads, headDim, spans);
    }

    public DeviceKeyValues AllocateKeyValues(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(spans);
        long keyBytes = (long)spans.Sum(s => (long)s.Count) * heads * headDim * type.Size();
        var buffer = Pool.Rent(2 * keyBytes, $"K/V block of {spans.Sum(s => (long)s.Count)} rows ({2 * keyBytes:N0} B)");
        return new IlgpuKeyValues(this, buffer, type, heads, headDim, spans);
    }

    /// <summary>On the backend's copy stream, so that it runs beside a kernel on the default stream (see the interface).</summary>
    public void CopyToDevice(DeviceHandle target, long byteOffset, ReadOnlySpan<byte> source)
    {
        var (buffer, dataBytes) = BytesOf(target, nameof(target));
        CheckRange(byteOffset, source.Length, dataBytes, nameof(byteOffset));
        if (source.Length > 0)
        {
            var stream = CopyStream;
            buffer.View.AsContiguous().SubView(byteOffset, source.Length).CopyFromCPU(stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(source), source.Length);
            stream.Synchronize();
        }
    }

    /// <summary>On the backend's copy stream, so that it runs beside a kernel on the default stream (see the interface).</summary>
    public void CopyFromDevice(DeviceHandle source, long byteOffset, Span<byte> destination)
    {
        var (buffer, dataBytes) = BytesOf(source, nameof(source));
        CheckRange(byteOffset, destination.Length, dataBytes, nameof(byteOffset));
        if (destination.Length > 0)
        {
            var stream = CopyStream;
            buffer.View.AsContiguous().SubView(byteOffset, destination.Length).CopyToCPU(stream, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(destination), destination.Length);
            stream.Synchronize();
        }
    }

    public IDisposable PageLock<T>(T[] pinnedArray)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(pinnedArray);
        using var binding = Accelerator.BindScoped();
        return Accelerator.CreatePageLockFromPinned(pinnedArray);
    }

    public void DownloadOutputRows(DeviceAccumulator accumulator, long firstRow, Span<float> destination)
    {
        var acc = Own<IlgpuAccumulator>(accumulator, nameof(accumulator));
        long rowElements = (long)acc.Heads * acc.HeadDim;
        if (destination.Length % rowElements != 0)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats, not whole rows of {rowElements}", nameof(destination));
        }

        CheckRange(firstRow * rowElements, destination.Length, (long)acc.Rows * rowElements, nameof(firstRow));
        if (destination.Length > 0)
        {
            acc.Output.SubView(firstRow * rowElements, destination.Length).CopyToCPU(destination);
        }
    }

    public void DownloadLse(DeviceAccumulator accumulator, Span<float> destination)
    {
        var acc = Own<IlgpuAccumulator>(accumulator, nameof(accumulator));
        long lse = (long)acc.Heads * acc.Rows;
        if (destination.Length != lse)
        {
            throw new ArgumentException($"destination holds {destination.Length} floats but lse has {lse}", nameof(destination));
        }

        if (lse > 0)
        {
            acc.LseView.CopyToCPU(destination);
        }
    }

    private (MemoryBuffer1D<byte, Stride1D.Dense> Buffer, long DataBytes) BytesOf(DeviceHandle handle, string name) =>
        handle is IByteHandle
            ? (Own<IByteHandle>(handle, name).Buffer, ((IByteHandle)handle).DataBytes)
            : throw new ArgumentException("only row and K/V handles of this backend hold bytes", name);

    private static void CheckRange(long offset, long length, long size, string name)
    {
        if (offset < 0 || offset + length > size)
        {
            throw new ArgumentOutOfRangeException(name, $"[{offset}, {offset + length}) is outside the handle's {size} bytes");
        }
    }

    public DeviceAccumulator CreateAccumulator(int rows, int heads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        long outputFloats = (long)rows * heads * headDim;
        long lseFloats = (long)heads * rows;
        long bytes = 4 * (outputFloats + lseFloats);
        var buffer = Pool.Rent(bytes, $"running O/LSE of {rows} rows ({bytes:N0} B)");
        try
        {
            var acc = new IlgpuAccumulator(this, buffer, rows, heads, headDim);
            if (outputFloats > 0)
            {
                acc.Output.MemSetToZero();
            }

            if (lseFloats > 0)
            {
                var minusInf = new float[lseFloats];
                Array.Fill(minusInf, float.NegativeInfinity);
                acc.LseView.CopyFromCPU(minusInf);
            }

            Accelerator.DefaultStream.Synchronize();
            return acc;
        }
        catch
        {
            Pool.Return(buffer);
            throw;
        }
    }

    public void Accumulate(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var q = Own<IlgpuRows>(queries, nameof(queries));
        var kv = Own<IlgpuKeyValues>(keyValues, nameof(keyValues));
        var acc = Own<IlgpuAccumulator>(accumulator, nameof(accumulator));
        ValidateResident(spec, q, kv, acc);
        cancellationToken.ThrowIfCancellationRequested();
        if (q.Rows == 0 || kv.Rows == 0 || !AnyVisible(spec, q.Spans, kv.Spans))
        {
            return;
        }

        var whole = kv.Buffer.View.AsContiguous();
        long vBytes = kv.KeyBytes;
        ulong kvBase = (ulong)kv.Buffer.NativePtr.ToInt64();
        var views = new DeviceViews(
            q.Buffer.View.AsContiguous().SubView(0, Math.Max(q.DataBytes, 16)),
            whole.SubView(0, Math.Max(kv.KeyBytes, 16)),
            whole.SubView(kv.KeyBytes, vBytes),
            acc.Output,
            acc.LseView,
            (ulong)q.Buffer.NativePtr.ToInt64(),
            kvBase,
            kvBase + (ulong)kv.KeyBytes);
        LaunchSpans(spec, q.Spans, q.Rows, kv.Spans, views);
        Accelerator.DefaultStream.Synchronize();
    }

    public KeyValueBlock DownloadKeyValues(DeviceKeyValues block)
    {
        var kv = Own<IlgpuKeyValues>(block, nameof(block));
        byte[] bytes = new byte[2 * kv.KeyBytes];
        if (bytes.Length > 0)
        {
            kv.Buffer.View.AsContiguous().SubView(0, bytes.Length).CopyToCPU(bytes.AsSpan());
        }

        var memory = bytes.AsMemory();
        return new KeyValueBlock(
            new TensorRows(kv.Type, kv.Heads, kv.HeadDim, kv.Spans, memory[..(int)kv.KeyBytes]),
            new TensorRows(kv.Type, kv.Heads, kv.HeadDim, kv.Spans, memory[(int)kv.KeyBytes..]));
    }

    public void Download(DeviceAccumulator accumulator, PartialResult destination)
    {
        var acc = Own<IlgpuAccumulator>(accumulator, nameof(accumulator));
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Rows != acc.Rows || destination.Heads != acc.Heads || destination.HeadDim != acc.HeadDim)
        {
            throw new ArgumentException($"destination is {destination.Rows} x {destination.Heads} x {destination.HeadDim} but the accumulator is {acc.Rows} x {acc.Heads} x {acc.HeadDim}", nameof(destination));
        }

        DownloadOutputRows(acc, 0, destination.Output);
        DownloadLse(acc, destination.Lse);
    }

    private static void Copy(MemoryBuffer1D<byte, Stride1D.Dense> buffer, long offset, ReadOnlySpan<byte> data)
    {
        if (data.Length > 0)
        {
            buffer.View.AsContiguous().SubView(offset, data.Length).CopyFromCPU(data);
        }
    }

    private T Own<T>(DeviceHandle handle, string name)
        where T : class, IOwnedBy
    {
        ArgumentNullException.ThrowIfNull(handle, name);
        if (handle is not T own || !ReferenceEquals(own.Owner, this))
        {
            throw new ArgumentException("the handle belongs to another backend", name);
        }

        if (handle.IsDisposed)
        {
            throw new ObjectDisposedException(name, "the device handle was already disposed");
        }

        return own;
    }

    private static void ValidateResident(AttentionSpec spec, IlgpuRows q, IlgpuKeyValues kv, IlgpuAccumulator acc)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        if (q.Heads != spec.Heads || q.HeadDim != spec.HeadDim || q.Type != spec.DType)
        {
            throw new ArgumentException($"queries are {q.Heads} heads x {q.HeadDim} dims of {q.Type} but the spec says {spec.Heads} x {spec.HeadDim} of {spec.DType}", nameof(q));
        }

        if (kv.Heads != spec.KvHeads || kv.HeadDim != spec.HeadDim || kv.Type != spec.DType)
        {
            throw new ArgumentException($"keys/values are {kv.Heads} heads x {kv.HeadDim} dims of {kv.Type} but the spec says {spec.KvHeads} x {spec.HeadDim} of {spec.DType}", nameof(kv));
        }

        if (acc.Rows != q.Rows || acc.Heads != spec.Heads || acc.HeadDim != spec.HeadDim)
        {
            throw new ArgumentException($"accumulator is {acc.Rows} rows x {acc.Heads} heads x {acc.HeadDim} dims but queries are {q.Rows} x {spec.Heads} x {spec.HeadDim}", nameof(acc));
        }
    }

    private interface IOwnedBy
    {
        IlgpuAttentionBackend Owner { get; }
    }

    /// <summary>A row or K/V handle: bytes in one pooled buffer (the buffer may be longer than the data).</summary>
    private interface IByteHandle : IOwnedBy
    {
        MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; }

        long DataBytes { get; }
    }

    private sealed class IlgpuRows(IlgpuAttentionBackend owner, MemoryBuffer1D<byte, Stride1D.Dense> buffer, ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
        : DeviceRows(type, heads, headDim, spans), IByteHandle
    {
        public IlgpuAttentionBackend Owner => owner;

        public MemoryBuffer1D<byte, Stride1D.Dense> Buffer => buffer;

        public override long Bytes => buffer.Length;

        protected override void Release() => owner.Pool.Return(buffer);
    }

    private sealed class IlgpuKeyValues(IlgpuAttentionBackend owner, MemoryBuffer1D<byte, Stride1D.Dense> buffer, ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
        : DeviceKeyValues(type, heads, headDim, spans), IByteHandle
    {
        public IlgpuAttentionBackend Owner => owner;

        public MemoryBuffer1D<byte, Stride1D.Dense> Buffer => buffer;

        public long DataBytes => 2 * KeyBytes;

        public override long Bytes => buffer.Length;

        protected override void Release() => owner.Pool.Return(buffer);
    }

    private sealed class IlgpuAccumulator(IlgpuAttentionBackend owner, MemoryBuffer1D<byte, Stride1D.Dense> buffer, int rows, int heads, int headDim)
        : DeviceAccumulator(rows, heads, headDim), IOwnedBy
    {
        public IlgpuAttentionBackend Owner => owner;

        private long OutputFloats => (long)Rows * Heads * HeadDim;

        public ArrayView<float> Output => buffer.View.AsContiguous().Cast<float>().SubView(0, Math.Max(OutputFloats, 1));

        public ArrayView<float> LseView => buffer.View.AsContiguous().Cast<float>().SubView(OutputFloats, Math.Max((long)Heads * Rows, 1));

        public override long Bytes => buffer.Length;

        protected override void Release() => owner.Pool.Return(buffer);
    }
}
