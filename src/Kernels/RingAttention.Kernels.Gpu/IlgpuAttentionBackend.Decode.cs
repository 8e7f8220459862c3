using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>The split-K path of the ILGPU backends (<see cref="DecodeKernel"/>): few query rows against many keys.</summary>
public abstract partial class IlgpuAttentionBackend
{
    private readonly Dictionary<ElementType, DecodeSplit> _decodeSplit = [];
    private readonly Dictionary<(ElementType, int), DecodeSplit> _decodeMma = [];
    private Action<KernelConfig, FlashParams, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _decodeMerge;

    /// <summary>The split launch of one element type: (stream, config, params, q words, chunk table, partial o, partial lse).</summary>
    private protected delegate void DecodeSplit(AcceleratorStream stream, KernelConfig config, FlashParams p, ArrayView<ulong> q, ArrayView<long> chunks, ArrayView<float> partialO, ArrayView<float> partialLse);

    /// <summary>Warps a decode launch aims at (a few per SM on an H200's 132); benchmarks try others.</summary>
    internal int DecodeTargetWarps { get; set; } = 4096;


    /// <summary>Set false to run few-row launches on the tiled kernels too (device benchmarks compare the two).</summary>
    internal bool UseDecodeKernel { get; set; } = true;

    /// <summary>Whether <see cref="LaunchDecode"/> serves <paramref name="rows"/> query rows against <paramref name="keys"/> keys.</summary>
    private protected bool DecodeServes(AttentionSpec spec, int rows, long keys)
    {
        int k = (int)Math.Min(keys, int.MaxValue);
        return UseDecodeKernel && HasDecodeKernel && (DecodeKernel.Serves(rows, spec.GroupSize, k, spec.HeadDim, Accelerator.WarpSize)
            || (UseDecodeMma && k >= DecodeKernel.MinKeys && DecodeMmaKernel.Serves(spec.DType, rows * spec.GroupSize, spec.HeadDim, Accelerator.WarpSize)));
    }

    /// <summary>Whether this accelerator has a split kernel (its loads are at device addresses: CPU and CUDA).</summary>
    private protected virtual bool HasDecodeKernel => Accelerator.AcceleratorType == AcceleratorType.CPU;

    /// <summary>The split kernel of <paramref name="type"/>: host reads and float exp2 on ILGPU's CPU accelerator.</summary>
    private protected virtual DecodeSplit LoadDecodeSplit(ElementType type)
    {
        var kernel = type switch
        {
            ElementType.F32 => Accelerator.LoadKernel<FlashParams, ArrayView<ulong>, ArrayView<long>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Split<F32Quad, HostWordRead, PortableMath>),
            ElementType.F16 => Accelerator.LoadKernel<FlashParams, ArrayView<ulong>, ArrayView<long>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Split<F16Quad, HostWordRead, PortableMath>),
            _ => Accelerator.LoadKernel<FlashParams, ArrayView<ulong>, ArrayView<long>, ArrayView<float>, ArrayView<float>>(DecodeKernel.Split<Bf16Quad, HostWordRead, PortableMath>),
        };
        return (stream, config, p, q, chunks, partialO, partialLse) => kernel(stream, config, p, q, chunks, partialO, partialLse);
    }

    /// <summary>Split launches so far, and how many of them on the tensor-core kernel (tests and benchmarks read them).</summary>
    internal long DecodeLaunches { get; private set; }

    internal long TensorCoreDecodeLaunches { get; private set; }

    /// <summary>
    /// Whether 16-bit launches that <see cref="DecodeMmaKernel"/> serves run there: on by default on CUDA; on ILGPU's CPU
    /// accelerator (32-lane warps) tests and <c>bench decode --cpu</c> turn it on to run its warp-shuffle twin.
    /// </summary>
    internal bool UseDecodeMma { get; set; }

    /// <summary>The tensor-core split kernel of a 16-bit <paramref name="type"/>: here the emulated one (host reads, shuffles).</summary>
    private protected virtual DecodeSplit LoadDecodeMma(ElementType type, int headDim)
    {
        var pair = type == ElementType.F16 ? typeof(F16Pair) : typeof(Bf16Pair);
        var method = typeof(DecodeMmaKernel).GetMethod(nameof(DecodeMmaKernel.Split))!.MakeGenericMethod(
            typeof(WarpHalfMma<>).MakeGenericType(pair), typeof(HostWordRead), typeof(PortableMath), DecodeHeadDims.Of(headDim));
        var loaded = Accelerator.LoadKernel(method);
        var kernel = loaded.CreateLauncherDelegate<Action<AcceleratorStream, KernelConfig, FlashParams, ArrayView<ulong>, ArrayView<long>, ArrayView<float>, ArrayView<float>>>();
        return (stream, config, p, q, chunks, partialO, partialLse) => kernel(stream, config, p, q, chunks, partialO, partialLse);
    }

    /// <summary>The tensor-core split kernel when it serves this launch, else null.</summary>
    private DecodeSplit? DecodeMma(ElementType type, int vectors, int headDim)
    {
        if (!UseDecodeMma || !DecodeMmaKernel.Serves(type, vectors, headDim, Accelerator.WarpSize))
        {
            return null;
        }

        if (!_decodeMma.TryGetValue((type, headDim), out var mma))
        {
            mma = LoadDecodeMma(type, headDim);
            _decodeMma[(type, headDim)] = mma;
        }

        return mma;
    }

    /// <summary>A view of whole 8-byte words (the decode kernel's q loads); views are at least 16 bytes.</summary>
    private static ArrayView<ulong> Words(ArrayView<byte> bytes) => bytes.SubView(0, bytes.Length / 8 * 8).Cast<ulong>();

    /// <summary>
    /// The query rows of <paramref name="p"/> (QRowOffset, QCount, QPos0) against every run, merged into o/lse (written
    /// when p.Merge is 0): the runs are cut into chunks, the chunks' partials go to a pooled scratch buffer, then fold
    /// into the result; two launches per <see cref="DecodeMerge.MaxChunks"/> chunks, however many allocations the runs
    /// lie in (a session shard's pages: one launch for all of them).
    /// </summary>
    private protected void LaunchDecode(FlashParams p, ElementType type, ArrayView<byte> q, ArrayView<float> o, ArrayView<float> lse, IReadOnlyList<DecodeRun> runs)
    {
        int vectors = p.QCount * p.Group;
        var split = DecodeMma(type, vectors, p.HeadDim);
        bool onTensorCores = split is not null;
        // The float kernel takes four vectors a warp, its tiles side by side in the grid; the tensor-core kernel eight a
        // warp, the warps of a chunk in one group.
        int tiles = onTensorCores ? 1 : (vectors + DecodeKernel.Vectors - 1) / DecodeKernel.Vectors;
        int groupSize = Accelerator.WarpSize * (onTensorCores ? DecodeMmaKernel.Warps(vectors) : 1);
        if (split is null && !_decodeSplit.TryGetValue(type, out split))
        {
            split = LoadDecodeSplit(type);
            _decodeSplit[type] = split;
        }

        _decodeMerge ??= Accelerator.LoadStreamKernel<FlashParams, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DecodeMerge.Run);
        // About DecodeTargetWarps warps in all (the tensor-core kernel: groups, whose warps share their chunk's loads): enough
        // to cover the GPU's memory latency, few enough chunks that merging them is cheap.
        long keys = runs.Sum(r => (long)r.Rows);
        int wanted = Math.Max(1, DecodeTargetWarps / (p.KvHeads * tiles));
        int chunkKeys = DecodeKernel.MinKeys * (int)Math.Max(1, (keys + ((long)wanted * DecodeKernel.MinKeys) - 1) / ((long)wanted * DecodeKernel.MinKeys));
        long rowBytes = (long)p.KvHeads * p.HeadDim * type.Size();
        var table = DecodeRun.Chunks(runs, chunkKeys, rowBytes);
        int chunks = table.Length / DecodeKernel.ChunkLongs;
        int batch = Math.Min(chunks, DecodeMerge.MaxChunks);
        p.BlockRows = DecodeKernel.LanesPerKey(p.HeadDim);
        p.BlockKeys = tiles;
        long partials = (long)batch * p.KvHeads * vectors;
        long bytes = (4 * partials * (p.HeadDim + 1)) + (8L * table.Length);
        var scratch = Pool.Rent(bytes, $"decode partials of {batch} chunks ({bytes:N0} B)");
        try
        {
            var floats = scratch.View.AsContiguous().SubView(0, 4 * partials * (p.HeadDim + 1)).Cast<float>();
            var partialO = floats.SubView(0, partials * p.HeadDim);
            var partialLse = floats.SubView(partials * p.HeadDim, partials);
            var tableView = scratch.View.AsContiguous().SubView(4 * partials * (p.HeadDim + 1), 8L * table.Length).Cast<long>();
            tableView.CopyFromCPU(Accelerator.DefaultStream, table);
            // A power of two (the merge's shared reduction halves it), several threads per dim when the GPU allows.
            int threads = Math.Min(DecodeMerge.MergeThreads, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Accelerator.MaxGroupSize.X + 1) / 2);
            for (int first = 0; first < chunks; first += batch)
            {
                int count = Math.Min(batch, chunks - first);
                var part = tableView.SubView((long)first * DecodeKernel.ChunkLongs, (long)count * DecodeKernel.ChunkLongs);
                split(Accelerator.DefaultStream, new KernelConfig(new Index3D(count * tiles, p.KvHeads, 1), new Index3D(groupSize, 1, 1)),
                    p, Words(q), part, partialO, partialLse);
                _decodeMerge(new KernelConfig(new Index3D(p.QCount, p.Heads, 1), new Index3D(threads, 1, 1)), p, count, partialO, partialLse, o, lse);
                p.Merge = 1;
                DecodeLaunches++;
                TensorCoreDecodeLaunches += onTensorCores ? 1 : 0;
            }
        }
        finally
        {
            // The pool may free an idle buffer at once: the kernels must be done with it first.
            Accelerator.DefaultStream.Synchronize();
            Pool.Return(scratch);
        }
    }
}
