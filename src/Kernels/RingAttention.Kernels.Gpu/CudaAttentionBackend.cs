using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Attention on an NVIDIA GPU. f16/bf16 with head dim 64 or 128 run a tensor-core kernel: on Hopper (sm_90) the
/// wgmma kernel (PTX retargeted to sm_90a), elsewhere the mma.sync one (both inline PTX with ldmatrix/cp.async; see
/// FlashKernels and FlashLauncher); other head dims and f32 run the portable ILGPU kernel on the GPU.
/// Create through <see cref="GpuBackends.TryCreateCuda"/>.
/// </summary>
public sealed class CudaAttentionBackend : IlgpuAttentionBackend
{
    private readonly FlashLauncher _flash;

    internal CudaAttentionBackend(ContextLease context, CudaAccelerator accelerator, int deviceIndex)
        : base(context, accelerator)
    {
        DeviceIndex = deviceIndex;
        _flash = new FlashLauncher(accelerator);
        UseDecodeMma = true;
    }

    public override string Name => $"cuda:{DeviceIndex}";

    public int DeviceIndex { get; }

    /// <summary>Set false to force the portable kernel (device checks compare the two).</summary>
    internal bool UseTensorCores { get; set; } = true;

    internal FlashLauncher Flash => _flash;

    /// <summary>
    /// One contiguous run of at least <see cref="TiledMinKeys"/> keys goes to the planned warp-specialized kernel even
    /// where a decode kernel serves the rows (measured on nvidia-h200, 32/8 heads, d 128, bf16, bench/results/
    /// hopper-h200/short-blocks-v2: n = 1 at 16K keys 0.057 against 0.219 ms, at 128K 0.158 against 0.235 ms; n = 16
    /// at 128K 0.162 against 0.47 ms). In a session's shared turn only above <see cref="SharedTurnMaxVectors"/>: there
    /// the decode kernels serve every shard of the device in one launch (1M keys, 16 shards of one page each: n = 16
    /// 6.23 ms through the tiled kernel against 8.92 with pages of 16K on the decode kernels, n = 1 2.94 against 2.63;
    /// bench/results/sessions-h200.md). Off: the decode kernels wherever they serve (device A/B).
    /// </summary>
    internal bool TiledForOneRun { get; set; } = true;

    /// <summary>The smallest run measured to favour the tiled kernel (below it the decode kernels keep it, unmeasured).</summary>
    internal const int TiledMinKeys = 16384;

    /// <summary>Query vectors (rows x group) up to which a shared turn keeps the decode kernels (n = 1 measured slower
    /// on the tiled kernel there, n = 16 at GQA 4 faster; between them unmeasured, so left as it was).</summary>
    internal const int SharedTurnMaxVectors = 16;

    private protected override bool PrefersTiled(AttentionSpec spec, int rows, IReadOnlyList<DecodeRun> runs, bool sharedTurn) =>
        TiledForOneRun && runs.Count == 1 && runs[0].Rows >= TiledMinKeys && (!sharedTurn || (long)rows * spec.GroupSize > SharedTurnMaxVectors)
        && UseTensorCores && _flash.PlanShortBlocks && _flash.SelectedWarpSpecialized(spec.DType, spec.HeadDim) is not null;

    /// <summary>
    /// Query vectors (rows x group) from which the decode path's split-K work over many runs of K/V (a session's
    /// pages, shards sharing a turn) runs on the tiled kernel's chunk tables (<see cref="ChunkedTiles"/>) rather than
    /// the decode kernels. 17: past <see cref="SharedTurnMaxVectors"/>, where one run already went to the tiled kernel;
    /// benchmarks set 1 (every decode launch there) or int.MaxValue (none).
    /// </summary>
    internal int TiledChunksMinVectors { get; set; } = SharedTurnMaxVectors + 1;

    private protected override ChunkedTiles? TiledChunks(FlashParams first, ElementType type) =>
        (long)first.QCount * first.Group >= TiledChunksMinVectors && UseTensorCores && _flash.PlanShortBlocks
        && _flash.SelectedWarpSpecialized(type, first.HeadDim) is not null && WarpSpecializedKernel.Find(type, first.HeadDim, shortBlocks: true) is { } variant
            ? new ChunkedTiles(_flash.WarpSpecialized, variant, Accelerator.NumMultiprocessors)
            : null;

    /// <summary>Loads the tensor-core kernels now (a silo does it at start) and returns how long that took.</summary>
    public TimeSpan Preload()
    {
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        using (Accelerator.BindScoped())
        {
            _flash.Preload();
        }

        return System.Diagnostics.Stopwatch.GetElapsedTime(start);
    }

    private protected override void Launch(FlashParams p, ElementType type, DeviceViews views)
    {
        if (!UseTensorCores || !_flash.Supports(type, p.HeadDim))
        {
            LaunchPortable(p, type, views);
        }
        else if (_flash.SelectedWarpSpecialized(type, p.HeadDim) is not { } ws)
        {
            _flash.Launch(p, type, views);
        }
        else
        {
            var plan = _flash.PlanShortBlocks
                ? WarpSpecializedPlan.For(p.QCount, p.Heads, p.Group, p.KCount, ws.BlockRows, ws.BlockKeys, Accelerator.NumMultiprocessors, fp8: false)
                : WarpSpecializedPlan.Whole;
            if (plan == WarpSpecializedPlan.Whole)
            {
                _flash.WarpSpecialized.Launch(ws, p, views.OPtr, views.LsePtr, plan);
            }
            else if (WarpSpecializedKernel.Find(type, p.HeadDim, shortBlocks: true) is not { } shortVariant)
            {
                throw new InvalidOperationException($"no short-block variant of {ws.Entry}");
            }
            else if (plan.Splits == 1)
            {
                _flash.WarpSpecialized.Launch(shortVariant, p, views.OPtr, views.LsePtr, plan);
            }
            else
            {
                LaunchSplit(shortVariant, p, views, plan);
            }
        }
    }

    /// <summary>
    /// A launch whose keys split over blocks: partials of every split into scratch, then folded by LSE into the running
    /// O/LSE (merged or written as p.Merge says) by the decode kernels' merge. Synchronised before the scratch returns
    /// to the pool, which may free it at once.
    /// </summary>
    private void LaunchSplit(WarpSpecializedVariant ws, FlashParams p, DeviceViews views, WarpSpecializedPlan plan)
    {
        long rows = (long)plan.Splits * p.Heads * p.QCount; // Splits x KvHeads x QCount·Group
        long bytes = 4 * rows * (p.HeadDim + 1);
        var scratch = Pool.Rent(bytes, $"partials of {plan.Splits} key splits ({bytes:N0} B)");
        try
        {
            ulong partialO = (ulong)scratch.NativePtr.ToInt64();
            var partials = p;
            partials.Merge = 0;
            _flash.WarpSpecialized.Launch(ws, partials, partialO, partialO + (ulong)(4 * rows * p.HeadDim), plan);
            var floats = scratch.View.AsContiguous().SubView(0, bytes).Cast<float>();
            MergePartials(p, plan.Splits, floats.SubView(0, rows * p.HeadDim), floats.SubView(rows * p.HeadDim, rows), views.O, views.Lse);
        }
        finally
        {
            Accelerator.DefaultStream.Synchronize();
            Pool.Return(scratch);
        }
    }

    /// <summary>
    /// FP8 (e4m3) self-attention of <paramref name="spec"/>'s tokens on the Hopper kernel: q and k rows of e4m3 codes at
    /// <paramref name="q"/> and <paramref name="k"/>, V and the descale factors as <paramref name="fp8"/> gives them;
    /// into <paramref name="accumulator"/> (merged when <paramref name="merge"/>). Not synchronised. The bench and the
    /// device checks call it; the ring computes FP8 inputs in bfloat16 (dequantised on load).
    /// </summary>
    internal void LaunchFp8(AttentionSpec spec, ulong q, ulong k, Fp8Operands fp8, DeviceAccumulator accumulator, bool merge)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var variant = (_flash.UseWgmma ? WarpSpecializedKernel.Find(ElementType.F8E4M3, spec.HeadDim) : null)
            ?? throw new NotSupportedException($"FP8 attention runs on Hopper (sm_90a) at head dims {string.Join(", ", WarpSpecializedVariants.All.Where(v => v.Fp8).Select(v => v.Dim))}; not head dim {spec.HeadDim} on {HardwareName}");
        var (o, lse) = Addresses(accumulator);
        var all = new TokenSpan(0, spec.Tokens);
        var views = new DeviceViews(default, default, default, default, default, q, k, 0, o, lse);
        _flash.WarpSpecialized.Launch(variant, MakeParams(spec, views, spec.Tokens, 0, all, 0, all, merge), o, lse, WarpSpecializedPlan.Whole, fp8);
    }

    private protected override bool HasDecodeKernel => true;

    /// <summary>The split kernel with PTX loads and ex2, loaded through the PTX rewrite (its asm operands in registers).</summary>
    private protected override DecodeSplit LoadDecodeSplit(ElementType type)
    {
        var quad = type switch { ElementType.F32 => typeof(F32Quad), ElementType.F16 => typeof(F16Quad), _ => typeof(Bf16Quad) };
        var method = typeof(DecodeKernel).GetMethod(nameof(DecodeKernel.Split))!.MakeGenericMethod(quad, typeof(PtxWordRead), typeof(PtxMath));
        var kernel = PtxPatch.Load((CudaAccelerator)Accelerator, method, default, sm90a: false, out _);
        var run = kernel.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, FlashParams, ArrayView<ulong>, ArrayView<long>, ArrayView<float>, ArrayView<float>>>();
        return (stream, config, p, q, chunks, partialO, partialLse) => run(stream, config, p, q, chunks, partialO, partialLse);
    }

    /// <summary>The tensor-core split kernel (mma m16n8k16, sm_80 and later), loaded through the PTX rewrite.</summary>
    private protected override DecodeSplit LoadDecodeMma(ElementType type, int headDim, bool wide)
    {
        var kernel = PtxPatch.Load((CudaAccelerator)Accelerator, DecodeMma(type, headDim, wide), default, sm90a: false, out _);
        var run = kernel.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, FlashParams, ArrayView<ulong>, ArrayView<long>, ArrayView<float>, ArrayView<float>>>();
        return (stream, config, p, q, chunks, partialO, partialLse) => run(stream, config, p, q, chunks, partialO, partialLse);
    }

    /// <summary>The tensor-core split kernel of one element type, head dim and width (a kernel of its own for each).</summary>
    internal static System.Reflection.MethodInfo DecodeMma(ElementType type, int headDim, bool wide = false)
    {
        var mma = type == ElementType.F16 ? typeof(PtxF16Mma) : typeof(PtxBf16Mma);
        return typeof(DecodeMmaKernel).GetMethod(nameof(DecodeMmaKernel.Split))!.MakeGenericMethod(mma, typeof(PtxWordRead), typeof(PtxMath),
            DecodeHeadDims.Of(headDim), DecodeWidths.Of(wide));
    }

    /// <summary>The linear-attention chunk products as TF32 mma (sm_80 and later), loaded through the PTX rewrite.</summary>
    private protected override LinearTensorLaunchers? LoadLinearTensorKernels()
    {
        if (!UseTensorCores)
        {
            return null;
        }

        var accelerator = (CudaAccelerator)Accelerator;
        var specialization = new KernelSpecialization(LinearTensorKernels.Threads, 2);
        var states = PtxPatch.Load(accelerator, Tf32States, specialization, sm90a: false, out _);
        var output = PtxPatch.Load(accelerator, Tf32Output, specialization, sm90a: false, out _);
        return new LinearTensorLaunchers(
            states.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>>(),
            output.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>>>());
    }

    internal static System.Reflection.MethodInfo Tf32States =>
        ((Action<LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>>)LinearTensorKernels.ChunkStates<PtxTf32Mma, PtxMath>).Method;

    internal static System.Reflection.MethodInfo Tf32Output =>
        ((Action<LinearParams, ArrayView<ushort>, ArrayView<ushort>, ArrayView<ushort>, ArrayView<float>, ArrayView<float>, ArrayView<float>>)LinearTensorKernels.Output<PtxTf32Mma, PtxMath>).Method;

    private protected override void DisposeKernels() => _flash.Dispose();
}
