using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>The handles of the ILGPU backends (<see cref="IAttentionBackend"/>): pooled device buffers.</summary>
public abstract partial class IlgpuAttentionBackend
{
    public long ResidentBytes => Pool.LiveBytes;

    /// <summary>Buffers the resident pool has allocated so far (tests).</summary>
    internal int ResidentAllocations => Pool.Allocations;

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
    public unsafe void CopyToDevice(DeviceHandle target, long byteOffset, ReadOnlySpan<byte> source)
    {
        var bytes = BytesOf(target, byteOffset, source.Length, nameof(target));
        if (source.Length > 0)
        {
            // Pinned until the copy has finished: ILGPU takes the address as it is ("the base address of the pinned
            // CPU buffer"), and a garbage collection that moved an unpinned array mid-copy read other bytes (a rare
            // CI failure under parallel test load).
            var stream = CopyStream;
            fixed (byte* pinned = source)
            {
                bytes.CopyFromCPU(stream, ref *pinned, source.Length);
                stream.Synchronize();
            }
        }
    }

    /// <summary>On the backend's copy stream, so that it runs beside a kernel on the default stream (see the interface).</summary>
    public void CopyFromDevice(DeviceHandle source, long byteOffset, Span<byte> destination) =>
        CopyOut(BytesOf(source, byteOffset, destination.Length, nameof(source)), destination);

    /// <summary>Device bytes to host memory on the copy stream, pinned until the copy has finished (see CopyToDevice).</summary>
    private unsafe void CopyOut(ArrayView<byte> bytes, Span<byte> destination)
    {
        if (destination.Length > 0)
        {
            var stream = CopyStream;
            fixed (byte* pinned = destination)
            {
                bytes.CopyToCPU(stream, ref *pinned, destination.Length);
                stream.Synchronize();
            }
        }
    }

    /// <summary>
    /// From a handle of another ILGPU backend whose accelerator this one has peer access to (<see cref="PeerAccess"/>):
    /// a device-to-device copy on this backend's copy stream; from host memory: an upload.
    /// </summary>
    public bool TryCopyFromPeer(DeviceHandle target, DeviceHandle source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var into = Own<IByteHandle>(target, nameof(target));
        OperandCheck.Range(target, 0, source.DataBytes, nameof(source));
        if (source.HostMemory is { } host)
        {
            CopyToDevice(target, 0, host.Span[..checked((int)source.DataBytes)]);
            return true;
        }

        if (source is not IByteHandle from || source.IsDisposed
            || !(ReferenceEquals(from.Owner, this) || Accelerator.HasPeerAccess(from.Owner.Accelerator)))
        {
            return false;
        }

        if (source.DataBytes > 0)
        {
            var stream = CopyStream;
            using var binding = Accelerator.BindScoped();
            into.Buffer.View.AsContiguous().SubView(into.Offset, source.DataBytes).CopyFrom(stream, from.Buffer.View.AsContiguous().SubView(from.Offset, source.DataBytes));
            stream.Synchronize();
        }

        return true;
    }

    /// <summary>CUDA IPC handle of the handle's pooled allocation (each is one cuMemAlloc, starting at the data); null off CUDA.</summary>
    public byte[]? ExportForProcess(DeviceHandle handle)
    {
        var own = Own<IByteHandle>(handle, nameof(handle));
        if (Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator || own.Offset != 0)
        {
            return null; // a slice of a shared buffer (AttendShards' results) is not an allocation of its own
        }

        using var binding = Accelerator.BindScoped();
        return CudaDriver.IpcHandle(own.Buffer.NativePtr);
    }

    /// <summary>Opens the exporter's allocation in this accelerator's context and copies on the copy stream; false on any CUDA error.</summary>
    public bool TryCopyFromProcess(DeviceHandle target, byte[] exported, long bytes)
    {
        var into = Own<IByteHandle>(target, nameof(target));
        OperandCheck.Range(target, 0, bytes, nameof(bytes));
        if (Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator || CopyStream is not ILGPU.Runtime.Cuda.CudaStream stream)
        {
            return false;
        }

        using var binding = Accelerator.BindScoped();
        return bytes == 0 || CudaDriver.CopyFromIpc(exported, into.Buffer.NativePtr, bytes, stream.StreamPtr) == 0;
    }

    public IDisposable PageLock<T>(T[] pinnedArray)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(pinnedArray);
        using var binding = Accelerator.BindScoped();
        return Accelerator.CreatePageLockFromPinned(pinnedArray);
    }

    /// <summary>Bytes [offset, offset + length) of a handle, checked against its size (an empty view when length is 0).</summary>
    private ArrayView<byte> BytesOf(DeviceHandle handle, long offset, long length, string name)
    {
        var own = Own<IByteHandle>(handle, name);
        OperandCheck.Range(handle, offset, length, nameof(offset));
        // ILGPU asserts a view starts inside its buffer, so an empty range (at the end, say) is no view at all.
        return length == 0 ? default : own.Buffer.View.AsContiguous().SubView(own.Offset + offset, length);
    }

    private Action<Index1D, ArrayView<float>, float>? _fill;

    private static void Fill(Index1D index, ArrayView<float> view, float value) => view[index] = value;

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
                // Filled on the device: a host array of −∞ crossing PCIe took tens of milliseconds at a million rows.
                _fill ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, float>(Fill);
                _fill(checked((int)lseFloats), acc.LseView, float.NegativeInfinity);
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

    private Action<Index1D, ArrayView<float>, long, long>? _fillResults;

    /// <summary>Slices of <paramref name="slice"/> floats: the first <paramref name="output"/> of each 0 (O), the rest −∞ (LSE).</summary>
    private static void FillResults(Index1D index, ArrayView<float> view, long slice, long output) =>
        view[index] = index.X % slice < output ? 0f : float.NegativeInfinity;

    /// <summary>
    /// Every shard's result in one buffer, [O₀ LSE₀ | O₁ LSE₁ | ...]: one fill launch, <see cref="AccumulateShards"/> into
    /// the slices as separate accumulators, one download — where a fresh accumulator a shard cost a memset, a fill, a
    /// sync and two copies with their syncs (8 shards of a session attend on one GPU: 8 syncs and 16 copies). The
    /// slices start as <see cref="CreateAccumulator"/>'s (0 and −∞) and the launches are the same, so each result is
    /// bit for bit the interface's default.
    /// </summary>
    public void AttendShards(AttentionSpec spec, DeviceRows queries, IReadOnlyList<IReadOnlyList<DeviceKeyValues>> shards, IReadOnlyList<PartialResult> results, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(results);
        OperandCheck.Results(spec, queries, shards, results);
        long outputFloats = (long)queries.Rows * spec.Heads * spec.HeadDim;
        long slice = outputFloats + ((long)spec.Heads * queries.Rows);
        if (results.Count == 0 || slice == 0)
        {
            return;
        }

        long floats = slice * results.Count;
        var buffer = Pool.Rent(sizeof(float) * floats, $"the results of {results.Count} shards ({sizeof(float) * floats:N0} B)");
        var accumulators = results
            .Select((_, i) => (DeviceAccumulator)new IlgpuAccumulator(this, buffer, queries.Rows, spec.Heads, spec.HeadDim, sizeof(float) * slice * i, owned: false))
            .ToList();
        try
        {
            _fillResults ??= Accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, long, long>(FillResults);
            _fillResults(checked((int)floats), buffer.View.AsContiguous().Cast<float>().SubView(0, floats), slice, outputFloats);
            // On the default stream after the fill; it ends with that stream synchronised, so the copy below sees the results.
            AccumulateShards(spec, queries, shards, accumulators, cancellationToken);
            var host = new float[floats];
            CopyOut(buffer.View.AsContiguous().SubView(0, sizeof(float) * floats), System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan()));
            for (int i = 0; i < results.Count; i++)
            {
                host.AsSpan(checked((int)(slice * i)), (int)outputFloats).CopyTo(results[i].Output);
                host.AsSpan(checked((int)((slice * i) + outputFloats)), (int)(slice - outputFloats)).CopyTo(results[i].Lse);
            }
        }
        finally
        {
            Accelerator.DefaultStream.Synchronize(); // a failed launch may still run: the pool may free the buffer at once
            accumulators.ForEach(a => a.Dispose());
            Pool.Return(buffer);
        }
    }

    public void Accumulate(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var q = Own<IlgpuRows>(queries, nameof(queries));
        var kv = Own<IlgpuKeyValues>(keyValues, nameof(keyValues));
        var acc = Own<IlgpuAccumulator>(accumulator, nameof(accumulator));
        OperandCheck.Validate(spec, q, kv, acc);
        cancellationToken.ThrowIfCancellationRequested();
        if (q.Rows == 0 || kv.Rows == 0 || !AnyVisible(spec, q.Spans, kv.Spans))
        {
            return;
        }

        Launch(spec, q, [kv], acc, merge: true);
        Accelerator.DefaultStream.Synchronize();
    }

    public void AccumulateEach(AttentionSpec spec, DeviceRows queries, IReadOnlyList<DeviceKeyValues> blocks, DeviceAccumulator accumulator, CancellationToken cancellationToken = default) =>
        AccumulateShards(spec, queries, [blocks], [accumulator], cancellationToken);

    public void AccumulateShards(AttentionSpec spec, DeviceRows queries, IReadOnlyList<IReadOnlyList<DeviceKeyValues>> shards, IReadOnlyList<DeviceAccumulator> accumulators, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentNullException.ThrowIfNull(accumulators);
        if (shards.Count != accumulators.Count)
        {
            throw new ArgumentException($"{shards.Count} shards but {accumulators.Count} accumulators", nameof(accumulators));
        }

        var q = Own<IlgpuRows>(queries, nameof(queries));
        var work = new List<(List<IlgpuKeyValues> Blocks, IlgpuAccumulator Acc)>();
        for (int i = 0; i < shards.Count; i++)
        {
            var acc = Own<IlgpuAccumulator>(accumulators[i], nameof(accumulators));
            var kvs = shards[i].Where(b => b.Rows > 0).Select(b => Own<IlgpuKeyValues>(b, nameof(shards))).ToList();
            foreach (var kv in kvs)
            {
                OperandCheck.Validate(spec, q, kv, acc);
            }

            kvs.RemoveAll(kv => !AnyVisible(spec, q.Spans, kv.Spans));
            if (q.Rows > 0 && kvs.Count > 0)
            {
                work.Add((kvs, acc));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        // The shards' split-K work in shared launches (one query span: the same query rows for all); other work, and
        // queries of several spans, launch shard by shard.
        var gather = q.Spans.Count == 1 ? new List<DecodeTarget>() : null;
        foreach (var (kvs, acc) in work)
        {
            Launch(spec, q, kvs, acc, merge: true, gather);
        }

        if (gather is { Count: > 0 })
        {
            LaunchDecodes(gather, spec.DType, QView(q));
        }

        Accelerator.DefaultStream.Synchronize();
    }

    /// <summary>
    /// The launches of one accumulate on handles, without checks or a sync (device benchmarks and checks time this):
    /// <paramref name="merge"/> false makes the first launch overwrite the accumulator instead of merging into it.
    /// </summary>
    internal void Launch(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, bool merge) =>
        Launch(spec, Own<IlgpuRows>(queries, nameof(queries)), [Own<IlgpuKeyValues>(keyValues, nameof(keyValues))], Own<IlgpuAccumulator>(accumulator, nameof(accumulator)), merge);

    private void Launch(AttentionSpec spec, IlgpuRows q, IReadOnlyList<IlgpuKeyValues> kvs, IlgpuAccumulator acc, bool merge, List<DecodeTarget>? gather = null)
    {
        var qView = QView(q);
        var blocks = new KeyBlock[kvs.Count];
        for (int i = 0; i < kvs.Count; i++)
        {
            ulong kvBase = (ulong)kvs[i].Buffer.NativePtr.ToInt64();
            blocks[i] = new KeyBlock(kvBase, kvBase + (ulong)kvs[i].KeyBytes, kvs[i].Spans);
        }

        // Views only for the blocks a tiled kernel reads: the split-K path takes every page by address.
        DeviceViews ViewsOf(int i)
        {
            var kv = kvs[i];
            var whole = kv.Buffer.View.AsContiguous();
            return new DeviceViews(
                qView,
                whole.SubView(0, Math.Max(kv.KeyBytes, 16)),
                whole.SubView(kv.KeyBytes, Math.Max(kv.KeyBytes, 16)),
                acc.Output,
                acc.LseView,
                (ulong)q.Buffer.NativePtr.ToInt64(),
                blocks[i].KPtr,
                blocks[i].VPtr,
                acc.OutputPtr,
                acc.LsePtr);
        }

        LaunchSpans(spec, q.Spans, q.Rows, blocks, ViewsOf, merge, gather);
    }

    /// <summary>Device addresses of a running result's O and LSE (for launches outside the handle contract: the FP8 bench).</summary>
    internal (ulong Output, ulong Lse) Addresses(DeviceAccumulator accumulator)
    {
        var acc = Own<IlgpuAccumulator>(accumulator, nameof(accumulator));
        return (acc.OutputPtr, acc.LsePtr);
    }

    private static ArrayView<byte> QView(IlgpuRows q) => q.Buffer.View.AsContiguous().SubView(0, Math.Max(q.DataBytes, 16));

    /// <summary>A handle's data as a device view (device benchmarks fill and read buffers in place).</summary>
    internal ArrayView<byte> DataView(DeviceHandle handle) => BytesOf(handle, 0, handle.DataBytes, nameof(handle));

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

    private interface IOwnedBy
    {
        IlgpuAttentionBackend Owner { get; }
    }

    /// <summary>Every handle: bytes in one pooled buffer (the buffer may be longer than the data).</summary>
    private interface IByteHandle : IOwnedBy
    {
        MemoryBuffer1D<byte, Stride1D.Dense> Buffer { get; }

        /// <summary>Where the handle's bytes start in <see cref="Buffer"/>: 0 but for a shard's slice of <see cref="AttendShards"/>' results.</summary>
        long Offset => 0;
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

        public override long Bytes => buffer.Length;

        protected override void Release() => owner.Pool.Return(buffer);
    }

    /// <summary>O then LSE in a pooled buffer of its own, or (<paramref name="offset"/>, not <paramref name="owned"/>) in
    /// a slice of one that <see cref="AttendShards"/> holds for every shard of a turn.</summary>
    private sealed class IlgpuAccumulator(IlgpuAttentionBackend owner, MemoryBuffer1D<byte, Stride1D.Dense> buffer, int rows, int heads, int headDim,
        long offset = 0, bool owned = true)
        : DeviceAccumulator(rows, heads, headDim), IByteHandle
    {
        public IlgpuAttentionBackend Owner => owner;

        public MemoryBuffer1D<byte, Stride1D.Dense> Buffer => buffer;

        public long Offset => offset;

        private long OutputFloats => (long)Rows * Heads * HeadDim;

        private ArrayView<float> Floats => buffer.View.AsContiguous().SubView(offset, buffer.Length - offset).Cast<float>();

        public ArrayView<float> Output => Floats.SubView(0, Math.Max(OutputFloats, 1));

        /// <summary>Device addresses of <see cref="Output"/> and <see cref="LseView"/>.</summary>
        public ulong OutputPtr => (ulong)buffer.NativePtr.ToInt64() + (ulong)offset;

        public ulong LsePtr => OutputPtr + ((ulong)OutputFloats * sizeof(float));

        public ArrayView<float> LseView => Floats.SubView(OutputFloats, Math.Max((long)Heads * Rows, 1));

        public override long Bytes => owned ? buffer.Length : sizeof(float) * (OutputFloats + ((long)Heads * Rows));

        protected override void Release()
        {
            if (owned)
            {
                owner.Pool.Return(buffer);
            }
        }
    }
}
