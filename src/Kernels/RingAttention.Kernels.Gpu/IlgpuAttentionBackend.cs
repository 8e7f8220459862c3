using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Host side shared by the ILGPU backends: checks a request's operands, launches one kernel per (query span, key span)
/// pair that has a visible key (a zigzag shard has two spans, so at most four launches), each merging into the running
/// O/LSE on the device.
/// </summary>
public abstract partial class IlgpuAttentionBackend : IAttentionBackend
{
    /// <summary>Query rows per block of the portable kernel (threads per block), capped by the accelerator (16 on ILGPU's CPU one).</summary>
    private readonly int _portableBlockRows;

    /// <summary>Keys per tile of the portable kernel: same tile rules as the CUDA kernel, smaller tiles for CI.</summary>
    private const int PortableBlockKeys = 16;

    private readonly Action<KernelConfig, FlashParams, int, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>> _portable;
    private bool _disposed;

    private protected IlgpuAttentionBackend(ContextLease context, Accelerator accelerator)
    {
        Lease = context;
        Accelerator = accelerator;
        Pool = new DeviceBufferPool(accelerator);
        _portableBlockRows = Math.Min(64, accelerator.MaxGroupSize.X);
        _portable = accelerator.LoadStreamKernel<FlashParams, int, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>(PortableKernel.Run);
    }

    public abstract string Name { get; }

    /// <summary>Total memory of the device, for admission (a job whose shard does not fit is refused up front).</summary>
    public long? MemoryBytes => Accelerator.MemorySize;

    /// <summary>The accelerator's own name ("NVIDIA H200").</summary>
    public string HardwareName => Accelerator.Name;

    /// <summary>Free device memory now (the accelerator's size where the driver cannot say).</summary>
    public long FreeBytes => Accelerator is ILGPU.Runtime.Cuda.CudaAccelerator cuda ? cuda.GetFreeMemory() : Accelerator.MemorySize;

    /// <summary>PCI address "domain:bus:device.0" of a CUDA device (matches nvidia-smi), else null.</summary>
    public string? PciBusId => Accelerator is ILGPU.Runtime.Cuda.CudaAccelerator cuda
        ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{cuda.PCIDomainId:X8}:{cuda.PCIBusId:X2}:{cuda.PCIDeviceId:X2}.0")
        : null;

    internal Context Context => Lease.Context;

    private ContextLease Lease { get; }

    internal Accelerator Accelerator { get; }

    internal DeviceBufferPool Pool { get; }

    /// <summary>
    /// Stream of the byte copies of resident handles: a block streams to or from the device while a kernel runs on
    /// the default stream (the ring's transfers overlap its compute). Created on first use.
    /// </summary>
    internal AcceleratorStream CopyStream => LazyInitializer.EnsureInitialized(ref _copyStream, ref _copyStreamGate, Accelerator.CreateStream);

    private AcceleratorStream? _copyStream;
    private object? _copyStreamGate;

    /// <summary>Bytes of each of the two page-locked buffers downloads pass through (<see cref="CopyFromDevice"/>), made on
    /// first use: a decode attend's partial (16-256 KiB) is one piece, a 4096-row partial (64 MiB) sixteen.</summary>
    internal const int StagingBytes = 4 << 20;

    private readonly Lock _stagingGate = new();
    private PageLockedArray1D<byte>[]? _staging;

    /// <summary>One block's operands for <see cref="LaunchSpans"/>: device addresses of its K and V rows, its rows' positions.</summary>
    private protected readonly record struct KeyBlock(ulong KPtr, ulong VPtr, IReadOnlyList<TokenSpan> Spans);

    /// <summary>
    /// Per query span: one split-K decode launch over every block's visible key spans when few rows meet many keys
    /// (<see cref="DecodeServes"/>), else one launch per (block, key span) with a visible key; each merges into the
    /// running O/Lse (the first one overwriting them when <paramref name="merge"/> is false). With
    /// <paramref name="gather"/>, the split-K work is added there instead, for one launch with other accumulators'.
    /// </summary>
    private void LaunchSpans(AttentionSpec spec, IReadOnlyList<TokenSpan> qSpans, int qRows, IReadOnlyList<KeyBlock> blocks, Func<int, DeviceViews> viewsOf, bool merge,
        List<DecodeTarget>? gather = null)
    {
        int qOffset = 0;
        long rowBytes = (long)spec.KvHeads * spec.HeadDim * spec.DType.Size();
        foreach (var qs in qSpans)
        {
            var runs = new List<DecodeRun>();
            foreach (var block in blocks)
            {
                int kOffset = 0;
                foreach (var ks in block.Spans)
                {
                    if (qs.Count > 0 && ks.Count > 0 && AnyVisible(spec.Mask, qs, ks))
                    {
                        runs.Add(new DecodeRun((long)block.KPtr + (kOffset * rowBytes), (long)block.VPtr + (kOffset * rowBytes), ks.Count, ks.Start));
                    }

                    kOffset += ks.Count;
                }
            }

            if (runs.Count > 0 && DecodeServes(spec, qs.Count, runs.Sum(r => (long)r.Rows)) && !PrefersTiled(spec, qs.Count, runs, gather is not null))
            {
                var views = viewsOf(0);
                var target = new DecodeTarget(MakeParams(spec, views, qRows, qOffset, qs, 0, qs, merge), views.O, views.Lse, runs);
                if (gather is not null)
                {
                    gather.Add(target);
                }
                else
                {
                    LaunchDecodes([target], spec.DType, views.Q);
                }

                merge = true;
            }
            else
            {
                for (int b = 0; b < blocks.Count; b++)
                {
                    int kOffset = 0;
                    foreach (var ks in blocks[b].Spans)
                    {
                        if (qs.Count > 0 && ks.Count > 0 && AnyVisible(spec.Mask, qs, ks))
                        {
                            var views = viewsOf(b);
                            Launch(MakeParams(spec, views, qRows, qOffset, qs, kOffset, ks, merge), spec.DType, views);
                            merge = true;
                        }

                        kOffset += ks.Count;
                    }
                }
            }

            qOffset += qs.Count;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _copyStream?.Dispose();
        foreach (var staging in _staging ?? [])
        {
            staging.Dispose();
        }

        Pool.Dispose();
        DisposeKernels();
        Accelerator.Dispose();
        Lease.Release();

        GC.SuppressFinalize(this);
    }

    /// <summary>Launches the kernel that serves <paramref name="type"/> and the head dim in <paramref name="p"/>.</summary>
    private protected virtual void Launch(FlashParams p, ElementType type, DeviceViews views) => LaunchPortable(p, type, views);

    private protected virtual void DisposeKernels()
    {
    }

    private protected void LaunchPortable(FlashParams p, ElementType type, DeviceViews views)
    {
        p.BlockRows = _portableBlockRows;
        p.BlockKeys = PortableBlockKeys;
        int mBlocks = (p.QCount + p.BlockRows - 1) / p.BlockRows;
        int dtype = type switch { ElementType.F32 => 0, ElementType.F16 => 1, _ => 2 };
        _portable(
            new KernelConfig(new Index3D(mBlocks, p.Heads, 1), new Index3D(p.BlockRows, 1, 1)),
            p,
            dtype,
            views.Q.Cast<ushort>(),
            views.K.Cast<ushort>(),
            views.V.Cast<ushort>(),
            views.O,
            views.Lse);
    }

    private protected static FlashParams MakeParams(AttentionSpec spec, DeviceViews views, int lseStride, int qOffset, TokenSpan qs, int kOffset, TokenSpan ks, bool merge)
    {
        var (dMin, dMax) = DeltaBounds(spec.Mask);
        return new FlashParams
        {
            QPtr = views.QPtr,
            KPtr = views.KPtr,
            VPtr = views.VPtr,
            QRowOffset = qOffset,
            QCount = qs.Count,
            QPos0 = qs.Start,
            KRowOffset = kOffset,
            KCount = ks.Count,
            KPos0 = ks.Start,
            Heads = spec.Heads,
            KvHeads = spec.KvHeads,
            Group = spec.GroupSize,
            HeadDim = spec.HeadDim,
            DMin = dMin,
            DMax = dMax,
            ScaleLog2 = spec.EffectiveScale * 1.44269504088896341f,
            LseStride = lseStride,
            Merge = merge ? 1 : 0,
            HeavyFirst = spec.Mask.Causal ? 1 : 0,
        };
    }

    /// <summary>Mask as bounds on qpos - kpos (see <see cref="FlashParams"/>).</summary>
    internal static (int DMin, int DMax) DeltaBounds(AttentionMask mask)
    {
        int dMax = mask.Window is int w ? w - 1 : int.MaxValue;
        int dMin = mask.Causal ? 0 : mask.Window is int w2 ? -(w2 - 1) : int.MinValue;
        return (dMin, dMax);
    }

    private static bool AnyVisible(AttentionMask mask, TokenSpan qs, TokenSpan ks)
    {
        var (dMin, dMax) = DeltaBounds(mask);
        long lo = (long)qs.Start - (ks.End - 1);
        long hi = (long)(qs.End - 1) - ks.Start;
        return hi >= dMin && lo <= dMax;
    }

    internal static bool AnyVisible(AttentionSpec spec, IReadOnlyList<TokenSpan> qSpans, IReadOnlyList<TokenSpan> kSpans) =>
        qSpans.Any(q => q.Count > 0 && kSpans.Any(k => k.Count > 0 && AnyVisible(spec.Mask, q, k)));
}
