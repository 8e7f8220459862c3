using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Loads (lazily, once) and launches the generated tensor-core kernels (Generator/gen_flash.py, whose launch facts it
/// reads from <see cref="FlashVariants"/>), 64 keys per tile:
/// on Hopper the wgmma kernels (1 or 2 warpgroups of 64 query rows per block, PTX retargeted to sm_90a), elsewhere
/// the mma.sync kernels (4 warps, 64 or 128 query rows per block, <see cref="Slabs"/>). Q, K and V tiles live in
/// dynamic shared memory; above ILGPU's 48 KB default the limit is raised with cuFuncSetAttribute.
/// Measured on the H100 (bench/NOTES.md): wgmma with 2 warpgroups, 2 blocks/SM, is the fastest for d = 64 and 128.
/// </summary>
internal sealed class FlashLauncher : IDisposable
{
    private readonly CudaAccelerator _accelerator;
    private readonly Dictionary<FlashVariant, Entry> _kernels = new();
    private readonly WarpSpecializedKernel _warpSpecialized;

    public FlashLauncher(CudaAccelerator accelerator)
    {
        _accelerator = accelerator;
        UseWgmma = accelerator.Architecture is { Major: 9 };
        UseWarpSpecialized = UseWgmma;
        _warpSpecialized = new WarpSpecializedKernel(accelerator);
    }

    /// <summary>
    /// Hopper, where a generated warp-specialized kernel serves the dtype and head dim (gen_hopper.py, ADR 22): launch it
    /// instead of the ILGPU wgmma kernel (on by default on Hopper: measured 1.4-1.6x the ILGPU kernel, bench/NOTES.md v12).
    /// Only with <see cref="UseWgmma"/> (it is an sm_90a kernel).
    /// </summary>
    public bool UseWarpSpecialized { get; set; }

    /// <summary>
    /// Short query blocks on the warp-specialized kernel: GQA heads packed into a tile and the keys split over blocks
    /// (<see cref="WarpSpecializedPlan"/>); off, every launch takes one head a tile and all its keys (device A/B).
    /// </summary>
    public bool PlanShortBlocks { get; set; } = true;

    /// <summary>Hopper (sm_90): use the wgmma kernels (PTX retargeted to sm_90a); otherwise the mma.sync ones.</summary>
    public bool UseWgmma { get; set; }

    /// <summary>Warpgroups per block of the wgmma kernel: 1 (64 query rows) or 2 (128 rows sharing each K/V tile; measured 7–10 % faster).</summary>
    public int WgmmaWarpgroups { get; set; } = 2;

    /// <summary>Blocks per SM the wgmma kernels are compiled for (.minnctapersm; caps registers at 65536 / (128 x this)).</summary>
    public int WgmmaBlocksPerSm { get; set; } = 4;

    /// <summary>m16 slabs per warp: 1 (64 rows per block) or 2 (128 rows per block, FA2's d=128 shape).</summary>
    public int Slabs { get; set; } = 2;

    /// <summary>Name of the variant <see cref="Launch"/> uses (for benchmark records).</summary>
    public string Variant => UseWgmma ? $"wgmma-wg{WgmmaWarpgroups}-b{WgmmaBlocksPerSm}" : $"mma-s{Slabs}";

    /// <summary>The warp-specialized kernel <see cref="Launch"/> uses for this dtype and head dim, or null.</summary>
    public WarpSpecializedVariant? SelectedWarpSpecialized(ElementType type, int dim) =>
        UseWarpSpecialized && UseWgmma ? WarpSpecializedKernel.Find(type, dim) : null;

    /// <summary>The kernel that <see cref="Launch"/> runs for this dtype and head dim and its setting, for records.</summary>
    public string KernelName(ElementType type, int dim) =>
        SelectedWarpSpecialized(type, dim) is { } ws ? $"{ws.Entry} (ws-{ws.BlockRows}x{ws.BlockKeys}-s{ws.Stages})" : $"{Selected(type, dim).Name} ({Variant})";

    /// <summary>The warp-specialized kernels' launcher (resource checks in the bench).</summary>
    public WarpSpecializedKernel WarpSpecialized => _warpSpecialized;

    /// <summary>A tensor-core kernel serves this dtype and head dim (any multiple of 8 up to 256).</summary>
    public bool Supports(ElementType type, int dim) => FlashVariants.All.Any(v => v.Serves(type, dim));

    /// <summary>
    /// The variant <see cref="Launch"/> uses for this dtype and head dim: on the path <see cref="UseWgmma"/> picks, the
    /// kernel written for exactly this head dim if there is one, else the smallest class that serves it; of that
    /// kernel's widths <see cref="WgmmaWarpgroups"/> / <see cref="Slabs"/> if generated, else the one that is.
    /// </summary>
    public FlashVariant Selected(ElementType type, int dim) =>
        Choose(type, dim, UseWgmma, UseWgmma ? WgmmaWarpgroups : Slabs)
        ?? throw new NotSupportedException($"no tensor-core kernel for {type} with head dim {dim} and variant {Variant}");

    /// <summary>The choice <see cref="Selected"/> makes, or null where no kernel of that path serves the head dim.</summary>
    internal static FlashVariant? Choose(ElementType type, int dim, bool wgmma, int width) =>
        FlashVariants.All
            .Where(v => v.Serves(type, dim) && v.Wgmma == wgmma)
            .OrderBy(v => v.Exact ? 0 : 1).ThenBy(v => v.Dim).ThenBy(v => v.Width == width ? 0 : 1).ThenByDescending(v => v.Width)
            .FirstOrDefault();

    /// <summary>The ILGPU tensor-core kernel of <see cref="Selected"/>; the backend launches the warp-specialized ones
    /// (<see cref="SelectedWarpSpecialized"/>) itself, since a split plan needs its scratch and merge.</summary>
    public void Launch(FlashParams p, ElementType type, DeviceViews views)
    {
        var variant = Selected(type, p.HeadDim);
        var e = Get(variant);
        p.BlockRows = variant.BlockRows;
        p.BlockKeys = variant.BlockKeys;
        int mBlocks = (p.QCount + variant.BlockRows - 1) / variant.BlockRows;
        var config = new KernelConfig(new Index3D(mBlocks, p.Heads, 1), new Index3D(variant.Threads, 1, 1), SharedMemoryConfig.RequestDynamic<Chunk16>(variant.SharedBytes / 16));
        e.Run(_accelerator.DefaultStream, config, p, views.O, views.Lse);
    }

    /// <summary>Registers, stack bytes and PTX of a variant (loads it if needed): the resource check of the notes' §4.</summary>
    public (int Registers, int LocalBytes, bool Patched, string Ptx) Inspect(FlashVariant variant)
    {
        var e = Get(variant);
        return (CudaDriver.GetAttribute(e.Function, CudaDriver.NumRegs), CudaDriver.GetAttribute(e.Function, CudaDriver.LocalSizeBytes), e.Patched, e.Ptx);
    }

    /// <summary>
    /// Compiles and loads the variant <see cref="Launch"/> uses for every supported dtype and head dim, so that no
    /// job's first ring step pays for it (measured: about 1 s of the first run's kernel time at 192K tokens).
    /// </summary>
    public void Preload()
    {
        foreach (var type in new[] { ElementType.BF16, ElementType.F16 })
        {
            foreach (int dim in new[] { 64, 128 })
            {
                if (SelectedWarpSpecialized(type, dim) is { } ws)
                {
                    _ = _warpSpecialized.Inspect(ws); // the short-block variants load at first use: most runs never take one
                }
                else
                {
                    _ = Get(Selected(type, dim));
                }
            }
        }
    }

    public void Dispose()
    {
        _kernels.Clear();
        _warpSpecialized.Dispose();
    }

    private Entry Get(FlashVariant variant)
    {
        if (_kernels.TryGetValue(variant, out var e))
        {
            return e;
        }

        // mma.sync: 2 blocks per SM fit in registers (<= 255 each) and shared memory (<= 2 x 64 KB of 227 KB).
        // wgmma: WgmmaBlocksPerSm counts 128-thread warpgroups, so 2-warpgroup blocks get half as many per SM.
        // Tiles of 256 columns hold twice the accumulators: half as many blocks per SM (else registers spill).
        int blocks = variant.Wgmma ? Math.Max(1, WgmmaBlocksPerSm / variant.Width) : 2;
        var specialization = new KernelSpecialization(variant.Threads, variant.Tile > 128 ? Math.Max(1, blocks / 2) : blocks);
        var kernel = PtxPatch.Load(_accelerator, variant.Kernel.Method, specialization, variant.Wgmma, out bool patched);
        var run = kernel.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, FlashParams, ArrayView<float>, ArrayView<float>>>();
        var function = ((CudaKernel)kernel).FunctionPtr;
        if (variant.SharedBytes > 48 * 1024)
        {
            CudaDriver.SetAttribute(function, CudaDriver.MaxDynamicSharedBytes, variant.SharedBytes);
        }

        string ptx = kernel.CompiledKernel is PTXCompiledKernel c ? c.PTXAssembly : string.Empty;
        e = new Entry(run, function, ptx, patched);
        _kernels[variant] = e;
        return e;
    }

    private sealed record Entry(Action<AcceleratorStream, KernelConfig, FlashParams, ArrayView<float>, ArrayView<float>> Run, IntPtr Function, string Ptx, bool Patched);
}
