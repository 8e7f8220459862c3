using ILGPU;
using ILGPU.Runtime;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>The split-K path of the ILGPU backends (<see cref="DecodeKernel"/>): few query rows against many keys.</summary>
public abstract partial class IlgpuAttentionBackend
{
    private readonly Dictionary<ElementType, Action<KernelConfig, FlashParams, ArrayView<ulong>, ArrayView<ulong>, ArrayView<ulong>, ArrayView<float>, ArrayView<float>>> _decodeSplit = [];
    private Action<KernelConfig, FlashParams, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _decodeMerge;

    /// <summary>Groups a decode launch aims at (a few per SM on an H200's 132).</summary>
    private const int TargetGroups = 4096;

    /// <summary>Set false to run few-row launches on the tiled kernels too (device benchmarks compare the two).</summary>
    internal bool UseDecodeKernel { get; set; } = true;

    /// <summary>Lanes of a decode group: one warp on a GPU; the largest group on ILGPU's CPU accelerator (its warps are 4 wide).</summary>
    private int DecodeLanes => Accelerator.AcceleratorType == AcceleratorType.CPU ? Math.Min(16, Accelerator.MaxGroupSize.X) : Accelerator.WarpSize;

    /// <summary>Whether <see cref="LaunchDecode"/> serves this launch.</summary>
    private protected bool DecodeServes(FlashParams p) =>
        UseDecodeKernel && DecodeKernel.Serves(p.QCount, p.Group, p.KCount, p.HeadDim, DecodeLanes);

    /// <summary>A view of whole 8-byte words (the decode kernel's loads); views are at least 16 bytes.</summary>
    private static ArrayView<ulong> Words(ArrayView<byte> bytes) => bytes.SubView(0, bytes.Length / 8 * 8).Cast<ulong>();

    /// <summary>The chunks' partials into a pooled scratch buffer, then folded into the running result; two launches.</summary>
    private protected void LaunchDecode(FlashParams p, ElementType type, DeviceViews views)
    {
        if (!_decodeSplit.TryGetValue(type, out var split))
        {
            split = type switch
            {
                ElementType.F32 => Accelerator.LoadStreamKernel<FlashParams, ArrayView<ulong>, ArrayView<ulong>, ArrayView<ulong>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Split<F32Quad>),
                ElementType.F16 => Accelerator.LoadStreamKernel<FlashParams, ArrayView<ulong>, ArrayView<ulong>, ArrayView<ulong>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Split<F16Quad>),
                _ => Accelerator.LoadStreamKernel<FlashParams, ArrayView<ulong>, ArrayView<ulong>, ArrayView<ulong>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Split<Bf16Quad>),
            };
            _decodeSplit[type] = split;
        }

        _decodeMerge ??= Accelerator.LoadStreamKernel<FlashParams, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Merge);
        int vectors = p.QCount * p.Group;
        int tiles = (vectors + DecodeKernel.Vectors - 1) / DecodeKernel.Vectors;
        // About TargetGroups groups in all: enough warps to cover the GPU's memory latency, few enough chunks that
        // merging them is cheap. A chunk is a whole number of ChunkKeys.
        int wanted = Math.Max(1, TargetGroups / (p.KvHeads * tiles));
        int chunkKeys = DecodeKernel.ChunkKeys * Math.Max(1, (int)Math.Ceiling((double)p.KCount / wanted / DecodeKernel.ChunkKeys));
        int chunks = (p.KCount + chunkKeys - 1) / chunkKeys;
        if (chunks > DecodeKernel.MaxChunks)
        {
            throw new InvalidOperationException($"{chunks} decode chunks exceed {DecodeKernel.MaxChunks} (TargetGroups must not)");
        }

        p.BlockKeys = chunkKeys;
        long partials = (long)chunks * p.KvHeads * vectors;
        long bytes = 4 * partials * (p.HeadDim + 1);
        var scratch = Pool.Rent(bytes, $"decode partials of {chunks} chunks ({bytes:N0} B)");
        try
        {
            var floats = scratch.View.AsContiguous().Cast<float>();
            var partialO = floats.SubView(0, partials * p.HeadDim);
            var partialLse = floats.SubView(partials * p.HeadDim, partials);
            split(new KernelConfig(new Index3D(chunks, p.KvHeads, tiles), new Index3D(DecodeLanes, 1, 1)),
                p, Words(views.Q), Words(views.K), Words(views.V), partialO, partialLse);
            // A power of two (the merge's shared reduction halves it), several threads per dim when the GPU allows.
            int threads = Math.Min(DecodeKernel.MergeThreads, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Accelerator.MaxGroupSize.X + 1) / 2);
            _decodeMerge(new KernelConfig(new Index3D(p.QCount, p.Heads, 1), new Index3D(threads, 1, 1)), p, chunks, partialO, partialLse, views.O, views.Lse);
        }
        finally
        {
            // The pool may free an idle buffer at once: the kernels must be done with it first.
            Accelerator.DefaultStream.Synchronize();
            Pool.Return(scratch);
        }
    }
}
