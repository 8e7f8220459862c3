using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using RingAttention.Attention;
using RingAttention.Tensors;

[assembly: InternalsVisibleTo("RingAttention.Kernels.Tests")]
[assembly: InternalsVisibleTo("RingAttention.Bench.Cpu")]

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Blockwise FlashAttention on the CPU: SIMD (AVX-512 where the JIT accelerates it, 256-bit otherwise),
/// multi-threaded over (head, query tile) work items, f32 accumulation over f32/f16/bf16 storage,
/// fully masked tiles skipped, GQA/MQA by indexing (no K/V copies per head). Thread-safe; scratch is pooled
/// per instance, so one instance per device (or silo) is the intended use. Its handles are host arrays
/// (HostHandles.cs): "copies to the device" are memory copies, and a block from the network lands in its
/// array directly. Cancellation is checked between key tiles (a tile is ~10 µs); a cancelled call throws
/// <see cref="OperationCanceledException"/> and leaves the accumulator partly updated (work items that finished have
/// merged their rows), so discard or reset it.
/// </summary>
public sealed partial class CpuAttentionBackend : IAttentionBackend
{
    private readonly CpuAttentionOptions _options;
    private readonly ConcurrentBag<TileScratch> _scratch = [];
    private bool _disposed;
    private long _residentBytes;

    public CpuAttentionBackend(CpuAttentionOptions? options = null)
    {
        _options = (options ?? new CpuAttentionOptions()).Validate();
    }

    public string Name => "cpu";

    /// <summary>Floats per SIMD vector this instance computes with (16 with AVX-512, else 8).</summary>
    public int VectorWidth => _options.MaxVectorBits >= 512 && Vector512.IsHardwareAccelerated ? Simd512.Count : Simd256.Count;

    public long? MemoryBytes => null;

    public long ResidentBytes => Interlocked.Read(ref _residentBytes);

    public DeviceRows AllocateRows(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans) =>
        new HostRows(this, Allocate(RowBytes(type, heads, headDim, spans)), type, heads, headDim, spans);

    public DeviceKeyValues AllocateKeyValues(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans) =>
        new HostKeyValues(this, Allocate(2 * RowBytes(type, heads, headDim, spans)), type, heads, headDim, spans);

    public DeviceAccumulator CreateAccumulator(int rows, int heads, int headDim)
    {
        var result = new PartialResult(rows, heads, headDim);
        Interlocked.Add(ref _residentBytes, 4L * (result.Output.LongLength + result.Lse.LongLength));
        return new HostAccumulator(this, result);
    }

    public void CopyToDevice(DeviceHandle target, long byteOffset, ReadOnlySpan<byte> source)
    {
        OperandCheck.Range(Own<DeviceHandle>(target, nameof(target)), byteOffset, source.Length, nameof(byteOffset));
        if (target is HostAccumulator acc)
        {
            acc.CopyIn(byteOffset, source);
        }
        else
        {
            source.CopyTo(target.HostMemory!.Value.Span[checked((int)byteOffset)..]);
        }
    }

    public void CopyFromDevice(DeviceHandle source, long byteOffset, Span<byte> destination)
    {
        OperandCheck.Range(Own<DeviceHandle>(source, nameof(source)), byteOffset, destination.Length, nameof(byteOffset));
        if (source is HostAccumulator acc)
        {
            acc.CopyOut(byteOffset, destination);
        }
        else
        {
            source.HostMemory!.Value.Span.Slice(checked((int)byteOffset), destination.Length).CopyTo(destination);
        }
    }

    /// <summary>From another backend's host memory (another CPU backend): a memory copy; a device's memory: no.</summary>
    public bool TryCopyFromPeer(DeviceHandle target, DeviceHandle source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.HostMemory is not { } bytes || source.IsDisposed)
        {
            return false;
        }

        CopyToDevice(target, 0, bytes.Span[..checked((int)source.DataBytes)]);
        return true;
    }

    /// <summary>Host arrays are not shared between processes: blocks between CPU silos take the data plane.</summary>
    public byte[]? ExportForProcess(DeviceHandle handle) => null;

    public bool TryCopyFromProcess(DeviceHandle target, byte[] exported, long bytes) => false;

    /// <summary>Host memory needs no registration.</summary>
    public IDisposable PageLock<T>(T[] pinnedArray)
        where T : unmanaged => NoLock.Instance;

    public void DequantiseFp8(DeviceKeyValues codes, DeviceKeyValues target, Fp8KeyValueScales scales)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        OperandCheck.Dequantise(codes, target, scales);
        var from = Own<HostKeyValues>(codes, nameof(codes)).HostMemory!.Value.Span;
        var to = Own<HostKeyValues>(target, nameof(target)).HostMemory!.Value.Span;
        int keyBytes = checked((int)codes.KeyBytes);
        Fp8Descale.Dequantise(from[..keyBytes], to[..(2 * keyBytes)], codes.Heads, codes.HeadDim, scales.Keys);
        Fp8Descale.Dequantise(from.Slice(keyBytes, keyBytes), to.Slice(2 * keyBytes, 2 * keyBytes), codes.Heads, codes.HeadDim, scales.Values);
    }

    public void Accumulate(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        OperandCheck.Validate(spec, queries, keyValues, accumulator);
        var q = Own<HostRows>(queries, nameof(queries));
        var kv = Own<HostKeyValues>(keyValues, nameof(keyValues));
        var acc = Own<HostAccumulator>(accumulator, nameof(accumulator));
        cancellationToken.ThrowIfCancellationRequested();
        Compute(spec, q.AsTensorRows(), kv.AsBlock(), acc.Result, cancellationToken);
    }

    /// <summary>The host merge itself: the bits a tree of host merges gives.</summary>
    public void MergeAccumulators(IReadOnlyList<(DeviceAccumulator Target, DeviceAccumulator Source)> merges)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(merges);
        foreach (var (target, source) in merges)
        {
            SoftmaxMerge.MergeInto(Own<HostAccumulator>(target, nameof(merges)).Result, Own<HostAccumulator>(source, nameof(merges)).Result);
        }
    }

    /// <summary>The kernel on host operands (the CPU benchmark times this without the handle layer).</summary>
    internal void Compute(AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator, CancellationToken cancellationToken = default)
    {
        if (queries.Rows == 0 || keyValues.Keys.Rows == 0)
        {
            return;
        }

        using var call = new CpuAttentionCall(spec, queries, keyValues, accumulator, _options.QueryTile);
        if (_options.DecodeLoop && DecodeLoop<Simd256>.Serves(queries.Rows, spec.GroupSize))
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
            if (VectorWidth == Simd512.Count)
            {
                DecodeLoop<Simd512>.Run(call, spec.Mask, queries.Spans, parallel, Rent, _scratch.Add);
            }
            else
            {
                DecodeLoop<Simd256>.Run(call, spec.Mask, queries.Spans, parallel, Rent, _scratch.Add);
            }
        }
        else if (VectorWidth == Simd512.Count)
        {
            Run<Simd512>(call, cancellationToken);
        }
        else
        {
            Run<Simd256>(call, cancellationToken);
        }
    }

    public void Dispose()
    {
        _disposed = true;
        while (_scratch.TryTake(out var scratch))
        {
            scratch.Dispose();
        }
    }

    private void Run<TV>(CpuAttentionCall call, CancellationToken cancellationToken)
        where TV : struct, ISimd<TV>
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = cancellationToken };
        bool cancelled = false;
        Parallel.For(
            0,
            call.WorkItems,
            parallel,
            Rent,
            (item, state, scratch) =>
            {
                if (!AttentionTileLoop<TV>.Run(call, item, scratch, cancellationToken))
                {
                    cancelled = true;
                    state.Stop();
                }

                return scratch;
            },
            _scratch.Add);
        if (cancelled)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    internal void Released(long bytes) => Interlocked.Add(ref _residentBytes, -bytes);

    private byte[] Allocate(long bytes)
    {
        if (bytes > Array.MaxLength)
        {
            throw new InsufficientMemoryException($"a host block of {bytes:N0} bytes exceeds one array ({Array.MaxLength:N0} bytes); use more shards");
        }

        // Every byte is written (from the file, the network or a copy) before the kernel reads it.
        var data = GC.AllocateUninitializedArray<byte>((int)bytes);
        Interlocked.Add(ref _residentBytes, bytes);
        return data;
    }

    private static long RowBytes(ElementType type, int heads, int headDim, IReadOnlyList<TokenSpan> spans)
    {
        ArgumentNullException.ThrowIfNull(spans);
        return spans.Sum(s => (long)s.Count) * heads * headDim * type.Size();
    }

    private T Own<T>(DeviceHandle handle, string name)
        where T : DeviceHandle
    {
        ArgumentNullException.ThrowIfNull(handle, name);
        if (handle is not T own || handle is not IHostHandle host || !ReferenceEquals(host.Owner, this))
        {
            throw new ArgumentException("the handle belongs to another backend", name);
        }

        ObjectDisposedException.ThrowIf(handle.IsDisposed, handle);
        return own;
    }

    private sealed class NoLock : IDisposable
    {
        public static readonly NoLock Instance = new();

        public void Dispose()
        {
        }
    }

    private TileScratch Rent() => _scratch.TryTake(out var scratch) ? scratch : new TileScratch(_options.QueryTile, _options.KeyTile);
}
