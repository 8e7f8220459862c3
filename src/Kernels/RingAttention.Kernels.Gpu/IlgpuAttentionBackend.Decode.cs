using ILGPU;
using ILGPU.Runtime;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>The split-K path of the ILGPU backends (<see cref="DecodeKernel"/>): few query rows against many keys.</summary>
public abstract partial class IlgpuAttentionBackend
{
    private readonly Dictionary<ElementType, DecodeSplit> _decodeSplit = [];
    private readonly Dictionary<(ElementType, int, bool), DecodeSplit> _decodeMma = [];
    private Action<KernelConfig, FlashParams, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _decodeMerge;

    /// <summary>The split launch of one element type: (stream, config, params, q words, chunk table, partial o, partial lse).</summary>
    private protected delegate void DecodeSplit(AcceleratorStream stream, KernelConfig config, FlashParams p, ArrayView<ulong> q, ArrayView<long> chunks, ArrayView<float> partialO, ArrayView<float> partialLse);

    /// <summary>Warps a decode launch aims at (a few per SM on an H200's 132); benchmarks try others.</summary>
    internal int DecodeTargetWarps { get; set; } = 4096;

    /// <summary>
    /// The shortest chunk a target's keys are cut into (a multiple of <see cref="DecodeKernel.MinKeys"/>). A target's
    /// chunks depend on its own keys only (its result is the same bits whoever shares the launch), so without a floor
    /// the eight 128K-key shards of a 1M session each aimed at <see cref="DecodeTargetWarps"/> alone: 256-key chunks,
    /// eight times the chunks of one 1M launch, and a device turn's kernels 2.5 times slower per key (the attend
    /// timeline on nvidia-h200, bench/NOTES.md v17). 2048 is the chunk a 1M-key launch gets from 4096 warps.
    /// </summary>
    internal int DecodeMinChunkKeys
    {
        get => _decodeMinChunkKeys;
        set => _decodeMinChunkKeys = value >= DecodeKernel.MinKeys && value % DecodeKernel.MinKeys == 0
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"a multiple of {DecodeKernel.MinKeys} keys");
    }

    private int _decodeMinChunkKeys = 2048;

    /// <summary>Set false to run few-row launches on the tiled kernels too (device benchmarks compare the two).</summary>
    internal bool UseDecodeKernel { get; set; } = true;

    /// <summary>Whether <see cref="LaunchDecode"/> serves <paramref name="rows"/> query rows against <paramref name="keys"/> keys.</summary>
    private protected bool DecodeServes(AttentionSpec spec, int rows, long keys)
    {
        int k = (int)Math.Min(keys, int.MaxValue);
        return UseDecodeKernel && HasDecodeKernel && (DecodeKernel.Serves(rows, spec.GroupSize, k, spec.HeadDim, Accelerator.WarpSize)
            || (UseDecodeMma && k >= DecodeKernel.MinKeys && DecodeMmaKernel.Serves(spec.DType, rows * spec.GroupSize, spec.HeadDim, Accelerator.WarpSize)));
    }

    /// <summary>
    /// Whether few query rows against these runs of K/V go to the tiled kernel rather than the split-K decode kernels
    /// that serve them: where the tiled kernel splits keys itself and reads one run faster (Hopper's warp-specialized
    /// kernel, <see cref="CudaAttentionBackend"/>). The decode kernels keep many runs (a session's pages) in one launch;
    /// <paramref name="sharedTurn"/>: the launch would join other shards' in one (ADR 21).
    /// </summary>
    private protected virtual bool PrefersTiled(AttentionSpec spec, int rows, IReadOnlyList<DecodeRun> runs, bool sharedTurn) => false;

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

    /// <summary>Split launches so far, how many of them on the tensor-core decode kernel and how many on the tiled kernel's
    /// chunk tables (<see cref="ChunkedTiles"/>) (tests and benchmarks read them).</summary>
    internal long DecodeLaunches { get; private set; }

    internal long TensorCoreDecodeLaunches { get; private set; }

    internal long TiledChunkLaunches { get; private set; }

    /// <summary>The tiled kernel's chunk launches where they serve these rows (the CUDA backend on Hopper), else null:
    /// the decode kernels split.</summary>
    private protected virtual ChunkedTiles? TiledChunks(FlashParams first, ElementType type) => null;

    /// <summary>
    /// Whether 16-bit launches that <see cref="DecodeMmaKernel"/> serves run there: on by default on CUDA; on ILGPU's CPU
    /// accelerator (32-lane warps) tests and <c>bench decode --cpu</c> turn it on to run its warp-shuffle twin.
    /// </summary>
    internal bool UseDecodeMma { get; set; }

    /// <summary>The tensor-core split kernel of a 16-bit <paramref name="type"/>: here the emulated one (host reads, shuffles).</summary>
    private protected virtual DecodeSplit LoadDecodeMma(ElementType type, int headDim, bool wide)
    {
        var pair = type == ElementType.F16 ? typeof(F16Pair) : typeof(Bf16Pair);
        var method = typeof(DecodeMmaKernel).GetMethod(nameof(DecodeMmaKernel.Split))!.MakeGenericMethod(
            typeof(WarpHalfMma<>).MakeGenericType(pair), typeof(HostWordRead), typeof(PortableMath), DecodeHeadDims.Of(headDim),
            DecodeWidths.Of(wide));
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

        bool wide = DecodeMmaKernel.Wide(vectors);
        if (!_decodeMma.TryGetValue((type, headDim, wide), out var mma))
        {
            mma = LoadDecodeMma(type, headDim, wide);
            _decodeMma[(type, headDim, wide)] = mma;
        }

        return mma;
    }

    /// <summary>A view of whole 8-byte words (the decode kernel's q loads); views are at least 16 bytes.</summary>
    private static ArrayView<ulong> Words(ArrayView<byte> bytes) => bytes.SubView(0, bytes.Length / 8 * 8).Cast<ulong>();

    /// <summary>One accumulator's split-K work for <see cref="LaunchDecodes"/>: its params (query rows, merge flag, lse
    /// stride), its running o/lse, and the runs of K/V rows it attends.</summary>
    private protected readonly record struct DecodeTarget(FlashParams P, ArrayView<float> O, ArrayView<float> Lse, IReadOnlyList<DecodeRun> Runs);

    /// <summary>Partials one split launch may write across several targets (more when one target alone needs more).</summary>
    private const long SharedPartialBytes = 128L << 20;

    /// <summary>
    /// Chunks one merge launch folds (at most <see cref="DecodeMerge.MaxChunks"/>, its shared weights); a target with
    /// more merges in pieces. Tests lower it to cross a piece boundary with a few dozen pages instead of 4,100 (one
    /// emulated launch each on the CPU accelerator: 3.5 minutes of CI).
    /// </summary>
    internal int MergePieceChunks
    {
        get => _mergePieceChunks;
        set => _mergePieceChunks = value is >= 1 and <= DecodeMerge.MaxChunks
            ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"1 to {DecodeMerge.MaxChunks} chunks a merge");
    }

    private int _mergePieceChunks = DecodeMerge.MaxChunks;

    /// <summary>
    /// Folds <paramref name="chunks"/> partial (o, lse) of p's query rows, in <see cref="DecodeKernel.PartialIndex"/>'s
    /// order, by LSE into the running o/lse (written when p.Merge is 0): the second launch of every split-K path (the
    /// decode kernels, the warp-specialized kernel's split plans).
    /// </summary>
    private protected void MergePartials(FlashParams p, int chunks, ArrayView<float> partialO, ArrayView<float> partialLse, ArrayView<float> o, ArrayView<float> lse)
    {
        _decodeMerge ??= Accelerator.LoadStreamKernel<FlashParams, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DecodeMerge.Run);
        // A power of two (the merge's shared reduction halves it), several threads per dim when the GPU allows.
        int threads = Math.Min(DecodeMerge.MergeThreads, (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Accelerator.MaxGroupSize.X + 1) / 2);
        _decodeMerge(new KernelConfig(new Index3D(p.QCount, p.Heads, 1), new Index3D(threads, 1, 1)), p, chunks, partialO, partialLse, o, lse);
    }

    /// <summary>
    /// The same query rows (q, and every target's QRowOffset, QCount, QPos0) against each target's runs, merged into its
    /// o/lse (written when its p.Merge is 0). Each target's runs are cut into chunks as if it launched alone, its chunks'
    /// partials fold into its result in pieces of at most <see cref="MergePieceChunks"/>; the split launches cover
    /// as many targets' chunks as <see cref="SharedPartialBytes"/> of partials allow. So session shards that share a
    /// device share their launches (ADR 21), and each shard's result is bit for bit what it would be alone.
    /// </summary>
    private protected void LaunchDecodes(IReadOnlyList<DecodeTarget> targets, ElementType type, ArrayView<byte> q)
    {
        var first = targets[0].P;
        int vectors = first.QCount * first.Group;
        var tiled = TiledChunks(first, type);
        // Without the tiled kernel, a decode kernel splits: the float one takes four vectors a warp, its tiles side by
        // side in the grid; the tensor-core one eight a warp, the warps of a chunk in one group.
        var split = tiled is null ? DecodeMma(type, vectors, first.HeadDim) : null;
        bool onTensorCores = split is not null;
        int tiles = onTensorCores || tiled is not null ? 1 : (vectors + DecodeKernel.Vectors - 1) / DecodeKernel.Vectors;
        int groupSize = Accelerator.WarpSize * (onTensorCores ? DecodeMmaKernel.Warps(vectors) : 1);
        if (tiled is null && split is null && !_decodeSplit.TryGetValue(type, out split))
        {
            split = LoadDecodeSplit(type);
            _decodeSplit[type] = split;
        }

        long rowBytes = (long)first.KvHeads * first.HeadDim * type.Size();
        var tables = new List<long>();
        var pieces = new List<(int Target, int First, int Count, bool Merge)>();
        for (int t = 0; t < targets.Count; t++)
        {
            // About DecodeTargetWarps warps in all (the tensor-core kernel: groups, whose warps share their chunk's
            // loads): enough to cover the GPU's memory latency, few enough chunks that merging them is cheap.
            long keys = targets[t].Runs.Sum(r => (long)r.Rows);
            int wanted = Math.Max(1, DecodeTargetWarps / (first.KvHeads * tiles));
            int chunkKeys = tiled?.ChunkKeys(first, keys) ?? Math.Max(_decodeMinChunkKeys,
                DecodeKernel.MinKeys * (int)Math.Max(1, (keys + ((long)wanted * DecodeKernel.MinKeys) - 1) / ((long)wanted * DecodeKernel.MinKeys)));
            var table = DecodeRun.Chunks(targets[t].Runs, chunkKeys, rowBytes);
            int at = tables.Count / DecodeKernel.ChunkLongs;
            int chunks = table.Length / DecodeKernel.ChunkLongs;
            for (int c = 0; c < chunks; c += _mergePieceChunks)
            {
                pieces.Add((t, at + c, Math.Min(_mergePieceChunks, chunks - c), c > 0 || targets[t].P.Merge != 0));
            }

            tables.AddRange(table);
        }

        long perChunk = (long)first.KvHeads * vectors;
        int totalChunks = tables.Count / DecodeKernel.ChunkLongs;
        // The partial buffer holds the largest piece (what a target alone needs) or, if more fit the shared budget, more.
        int launchChunks = (int)Math.Max(pieces.Max(x => x.Count), Math.Min(totalChunks, SharedPartialBytes / (4 * perChunk * (first.HeadDim + 1))));
        long partials = launchChunks * perChunk;
        // The chunk table first (the tiled kernel's tensor maps need a 64-byte boundary), then the partials.
        long tableBytes = tiled is null ? 8L * tables.Count : (long)totalChunks * ChunkedTiles.BytesPerChunk;
        long bytes = tableBytes + (4 * partials * (first.HeadDim + 1));
        var scratch = Pool.Rent(bytes, $"decode partials of {launchChunks} chunks ({bytes:N0} B)");
        try
        {
            var floats = scratch.View.AsContiguous().SubView(tableBytes, 4 * partials * (first.HeadDim + 1)).Cast<float>();
            var partialO = floats.SubView(0, partials * first.HeadDim);
            var partialLse = floats.SubView(partials * first.HeadDim, partials);
            var tableView = scratch.View.AsContiguous().SubView(0, tableBytes);
            ulong tableAddress = (ulong)scratch.NativePtr.ToInt64();
            if (tiled is null)
            {
                tableView.Cast<long>().CopyFromCPU(Accelerator.DefaultStream, tables.ToArray());
            }
            else
            {
                var bytesOut = GC.AllocateUninitializedArray<byte>((int)tableBytes);
                tiled.Write(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(tables), bytesOut, tableAddress, first.KvHeads, first.HeadDim);
                tableView.CopyFromCPU(Accelerator.DefaultStream, bytesOut);
            }

            for (int next = 0; next < pieces.Count;)
            {
                // One split launch over consecutive pieces whose chunks fit the partial buffer, then each piece's merge.
                int start = pieces[next].First;
                int end = next;
                while (end < pieces.Count && pieces[end].First + pieces[end].Count - start <= launchChunks)
                {
                    end++;
                }

                int count = pieces[end - 1].First + pieces[end - 1].Count - start;
                var p = first;
                p.BlockRows = DecodeKernel.LanesPerKey(p.HeadDim);
                p.BlockKeys = tiles;
                if (tiled is not null)
                {
                    ulong partialsAddress = tableAddress + (ulong)tableBytes;
                    tiled.Launch(first, tableAddress + (ulong)((long)totalChunks * ChunkedTiles.MapBytes) + (ulong)((long)start * ChunkedTiles.EntryBytes), count,
                        partialsAddress, partialsAddress + (ulong)(4 * partials * first.HeadDim));
                    TiledChunkLaunches++;
                }
                else if (split is not null)
                {
                    split(Accelerator.DefaultStream, new KernelConfig(new Index3D(count * tiles, p.KvHeads, 1), new Index3D(groupSize, 1, 1)),
                        p, Words(q), tableView.Cast<long>().SubView((long)start * DecodeKernel.ChunkLongs, (long)count * DecodeKernel.ChunkLongs), partialO, partialLse);
                    TensorCoreDecodeLaunches += onTensorCores ? 1 : 0;
                }

                DecodeLaunches++;
                for (; next < end; next++)
                {
                    var (t, at, n, merge) = pieces[next];
                    var target = targets[t];
                    var mp = target.P;
                    mp.BlockRows = p.BlockRows;
                    mp.BlockKeys = tiles;
                    mp.Merge = merge ? 1 : 0;
                    long skip = (at - start) * perChunk;
                    MergePartials(mp, n, partialO.SubView(skip * first.HeadDim, n * perChunk * first.HeadDim), partialLse.SubView(skip, n * perChunk), target.O, target.Lse);
                }
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
