using ILGPU;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Loads (lazily, once) and launches the generated tensor-core kernels. 4 warps per block, 64 keys per tile,
/// 64 or 128 query rows per block (<see cref="Slabs"/>); Q, K and V tiles in dynamic shared memory
/// (64 KB for d=128 with 128 rows: above ILGPU's 48 KB default, raised with cuFuncSetAttribute).
/// </summary>
internal sealed class FlashLauncher : IDisposable
{
    private const int Threads = 128;
    private const int BlockKeys = 64;
    private readonly CudaAccelerator _accelerator;
    private readonly Dictionary<(ElementType Type, int Dim, int Slabs), Entry> _kernels = new();

    public FlashLauncher(CudaAccelerator accelerator) => _accelerator = accelerator;

    /// <summary>m16 slabs per warp: 1 (64 rows per block) or 2 (128 rows per block, FA2's d=128 shape).</summary>
    public int Slabs { get; set; } = 2;

    public bool Supports(ElementType type, int dim) => type is ElementType.F16 or ElementType.BF16 && dim is 64 or 128;

    public void Launch(FlashParams p, ElementType type, DeviceWorkspace ws)
    {
        var e = Get(type, p.HeadDim, Slabs);
        p.BlockRows = e.BlockRows;
        p.BlockKeys = BlockKeys;
        int mBlocks = (p.QCount + e.BlockRows - 1) / e.BlockRows;
        var config = new KernelConfig(new Index3D(mBlocks, p.Heads, 1), new Index3D(Threads, 1, 1), SharedMemoryConfig.RequestDynamic<Chunk16>(e.SharedBytes / 16));
        e.Run(config, p, ws.O.View.AsContiguous(), ws.Lse.View.AsContiguous());
    }

    /// <summary>Registers, stack bytes and PTX of a variant (loads it if needed): the resource check of the notes' §4.</summary>
    public (int Registers, int LocalBytes, int SharedBytes, string Ptx) Inspect(ElementType type, int dim, int slabs)
    {
        var e = Get(type, dim, slabs);
        return (CudaDriver.GetAttribute(e.Function, CudaDriver.NumRegs), CudaDriver.GetAttribute(e.Function, CudaDriver.LocalSizeBytes), e.SharedBytes, e.Ptx);
    }

    public void Dispose() => _kernels.Clear();

    private Entry Get(ElementType type, int dim, int slabs)
    {
        if (_kernels.TryGetValue((type, dim, slabs), out var e))
        {
            return e;
        }

        Action<FlashParams, ArrayView<float>, ArrayView<float>> method = (type, dim, slabs) switch
        {
            (ElementType.BF16, 64, 1) => FlashKernels.FlashBf16D64S1,
            (ElementType.BF16, 64, 2) => FlashKernels.FlashBf16D64S2,
            (ElementType.BF16, 128, 1) => FlashKernels.FlashBf16D128S1,
            (ElementType.BF16, 128, 2) => FlashKernels.FlashBf16D128S2,
            (ElementType.F16, 64, 1) => FlashKernels.FlashF16D64S1,
            (ElementType.F16, 64, 2) => FlashKernels.FlashF16D64S2,
            (ElementType.F16, 128, 1) => FlashKernels.FlashF16D128S1,
            (ElementType.F16, 128, 2) => FlashKernels.FlashF16D128S2,
            _ => throw new NotSupportedException($"no tensor-core kernel for {type} with head dim {dim} and {slabs} slab(s)"),
        };
        int blockRows = 64 * slabs;
        int shared = (blockRows + (2 * BlockKeys)) * dim * 2;
        // 2 blocks per SM fit in registers (<= 255 each) and shared memory (<= 2 x 64 KB of 227 KB).
        var run = _accelerator.LoadStreamKernel(method, new KernelSpecialization(Threads, 2));
        var kernel = run.GetKernel();
        var function = ((CudaKernel)kernel).FunctionPtr;
        if (shared > 48 * 1024)
        {
            CudaDriver.SetAttribute(function, CudaDriver.MaxDynamicSharedBytes, shared);
        }

        string ptx = kernel.CompiledKernel is PTXCompiledKernel c ? c.PTXAssembly : string.Empty;
        e = new Entry(run, blockRows, shared, function, ptx);
        _kernels[(type, dim, slabs)] = e;
        return e;
    }

    private sealed record Entry(Action<KernelConfig, FlashParams, ArrayView<float>, ArrayView<float>> Run, int BlockRows, int SharedBytes, IntPtr Function, string Ptx);
}
