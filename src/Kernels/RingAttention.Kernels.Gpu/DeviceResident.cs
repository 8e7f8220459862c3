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

    private Action<Index1D, ArrayView<float>, float>? _fill;

    private static void Fill(Index1D index, ArrayView<float> view, float value) => view[index] = value;

    public DeviceAccumulator CreateAccumulator(int rows, int heads, int headDim)
    {
        var acc = Initialise(rows, heads, headDim);
        Accelerator.DefaultStream.Synchronize();
        return acc;
    }

    public IReadOnlyList<DeviceAccumulator> CreateAccumulators(int count, int rows, int heads, int headDim)
    {
        var created = new List<DeviceAccumulator>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                created.Add(Initialise(rows, heads, headDim));
            }

            Accelerator.DefaultStream.Synchronize();
            return created;
        }
        catch
        {
            Accelerator.DefaultStream.Synchronize();
            created.ForEach(a => a.Dispose());
            throw;
        }
    }

    /// <summary>An accumulator whose "no key seen" state is queued on the default stream (the caller synchronises:
    /// the copy stream, which downloads it, is not ordered after that one).</summary>
    private IlgpuAccumulator Initialise(int rows, int heads, int headDim)
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

            return acc;
        }
        catch
        {
            Pool.Return(buffer);
            throw;
        }
    }

    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _mergeAccumulators;

    public void MergeAccumulators(IReadOnlyList<(DeviceAccumulator Target, DeviceAccumulator Source)> merges)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(merges);
        foreach (var (target, source) in merges)
        {
            var to = Own<IlgpuAccumulator>(target, nameof(merges));
            var from = Own<IlgpuAccumulator>(source, nameof(merges));
            if (to.Rows != from.Rows || to.Heads != from.Heads || to.HeadDim != from.HeadDim)
            {
                throw new ArgumentException($"a [{from.Rows}, {from.Heads}, {from.HeadDim}] result cannot merge into a [{to.Rows}, {to.Heads}, {to.HeadDim}] one", nameof(merges));
            }

            if (to.Rows == 0)
            {
                continue;
            }

            _mergeAccumulators ??= Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(AccumulatorMerge.Run);
            int threads = Math.Min(to.HeadDim, Accelerator.MaxNumThreadsPerGroup);
            _mergeAccumulators(new KernelConfig(new Index3D(to.Rows, to.Heads, 1), new Index3D(threads, 1, 1)),
                to.Output, to.LseView, from.Output, from.LseView, to.Rows, to.Heads, to.HeadDim);
        }

        // One sync for the lot: the copy lane downloads the targets next.
        Accelerator.DefaultStream.Synchronize();
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
    internal ArrayView<byte> DataView(DeviceHandle handle) => Own<IByteHandle>(handle, nameof(handle)).Buffer.View.AsContiguous().SubView(0, handle.DataBytes);

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

    private sealed class IlgpuAccumulator(IlgpuAttentionBackend owner, MemoryBuffer1D<byte, Stride1D.Dense> buffer, int rows, int heads, int headDim)
        : DeviceAccumulator(rows, heads, headDim), IByteHandle
    {
        public IlgpuAttentionBackend Owner => owner;

        public MemoryBuffer1D<byte, Stride1D.Dense> Buffer => buffer;

        private long OutputFloats => (long)Rows * Heads * HeadDim;

        public ArrayView<float> Output => buffer.View.AsContiguous().Cast<float>().SubView(0, Math.Max(OutputFloats, 1));

        /// <summary>Device addresses of <see cref="Output"/> and <see cref="LseView"/>.</summary>
        public ulong OutputPtr => (ulong)buffer.NativePtr.ToInt64();

        public ulong LsePtr => OutputPtr + ((ulong)OutputFloats * sizeof(float));

        public ArrayView<float> LseView => buffer.View.AsContiguous().Cast<float>().SubView(OutputFloats, Math.Max((long)Heads * Rows, 1));

        public override long Bytes => buffer.Length;

        protected override void Release() => owner.Pool.Return(buffer);
    }
}
