using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Split-K attention for few query rows (decode; flash-decoding): the keys of a block are cut into chunks of
/// <see cref="ChunkKeys"/>, one thread group per (chunk, kv head, tile of <see cref="Vectors"/> query vectors), where a
/// query vector is one (row, query head) of the kv head's group: the query heads that share a kv head read its K/V
/// rows once. The group's lanes split the head dim (lane l owns dims 4l..4l+3 and 4(l+L)..4(l+L)+3, each four one 8-byte load), so
/// K and V rows are read coalesced and the output accumulators stay in registers; a score is the group's sum of lane partials. Each group
/// writes its chunk's normalised partial (o, lse); <see cref="Merge"/> folds the chunks into the running result by
/// the same LSE merge as every kernel. Portable ILGPU (no PTX): the GPU runs it, and ILGPU's CPU accelerator in CI.
/// </summary>
internal static class DecodeKernel
{
    /// <summary>Keys per chunk (one group each): small enough that a 16K-key page gives hundreds of groups.</summary>
    public const int ChunkKeys = 32;

    /// <summary>Query vectors per group.</summary>
    public const int Vectors = 4;

    /// <summary>
    /// Most query vectors (rows x group size) a launch takes this path for: two tiles. Every tile reads the K/V rows
    /// again, so more vectors go faster through the tiled kernels (measured on the H200 at 1M keys, 8 kv heads: 4 vectors
    /// 19.1 ms here against 36.8 ms tiled; 64 vectors 177 ms here against 40 ms tiled).
    /// </summary>
    public const int MaxVectors = 8;

    /// <summary>Whether this path serves a launch: few query vectors, enough keys to split, and head dims the lanes
    /// cover with <see cref="DecodeSlots.Count"/> slots each (two groups of 4 consecutive dims).</summary>
    public static bool Serves(int rows, int group, int keys, int headDim, int lanes) =>
        (long)rows * group <= MaxVectors && keys >= ChunkKeys && headDim % 4 == 0 && headDim <= DecodeSlots.Count * lanes;

    /// <summary>Grid x = chunks, y = kv heads, z = tiles of <see cref="Vectors"/> query vectors; group = lanes.</summary>
    public static void Split<TQuad>(
        FlashParams p,
        ArrayView<ulong> q,
        ArrayView<ulong> k,
        ArrayView<ulong> v,
        ArrayView<float> partialO,
        ArrayView<float> partialLse)
        where TQuad : struct, IDecodeQuad
    {
        int chunk = Grid.IdxX;
        int kvh = Grid.IdxY;
        int tile = Grid.IdxZ;
        int lane = Group.IdxX;
        int lanes = Group.DimX;
        int dim = p.HeadDim;
        int vectors = p.QCount * p.Group;
        var a = Start<TQuad>(p, q, tile * Vectors, kvh, lane, lanes, vectors);
        var b = Start<TQuad>(p, q, (tile * Vectors) + 1, kvh, lane, lanes, vectors);
        var c = Start<TQuad>(p, q, (tile * Vectors) + 2, kvh, lane, lanes, vectors);
        var d = Start<TQuad>(p, q, (tile * Vectors) + 3, kvh, lane, lanes, vectors);
        // p.BlockKeys is the chunk (the launcher sizes it so that the launch has a few thousand groups).
        int j0 = chunk * p.BlockKeys;
        int j1 = j0 + p.BlockKeys < p.KCount ? j0 + p.BlockKeys : p.KCount;
        long rowStride = (long)p.KvHeads * dim;
        for (int j = j0; j < j1; j += 2)
        {
            // Two keys an iteration, all four rows loaded before any is used: two memory latencies overlap (one warp
            // walks its chunk alone, so without this it waits a full latency per key).
            bool second = j + 1 < j1;
            long kBase = ((long)(p.KRowOffset + j) * p.KvHeads + kvh) * dim;
            var key0 = Load<TQuad>(k, kBase, lane, lanes, dim);
            var value0 = Load<TQuad>(v, kBase, lane, lanes, dim);
            var key1 = second ? Load<TQuad>(k, kBase + rowStride, lane, lanes, dim) : default;
            var value1 = second ? Load<TQuad>(v, kBase + rowStride, lane, lanes, dim) : default;
            long keyPosition = (long)p.KPos0 + j;
            a = Step(p, a, GroupSum(a.Q.Dot(key0), lane, lanes), keyPosition, value0);
            b = Step(p, b, GroupSum(b.Q.Dot(key0), lane, lanes), keyPosition, value0);
            c = Step(p, c, GroupSum(c.Q.Dot(key0), lane, lanes), keyPosition, value0);
            d = Step(p, d, GroupSum(d.Q.Dot(key0), lane, lanes), keyPosition, value0);
            if (second)
            {
                a = Step(p, a, GroupSum(a.Q.Dot(key1), lane, lanes), keyPosition + 1, value1);
                b = Step(p, b, GroupSum(b.Q.Dot(key1), lane, lanes), keyPosition + 1, value1);
                c = Step(p, c, GroupSum(c.Q.Dot(key1), lane, lanes), keyPosition + 1, value1);
                d = Step(p, d, GroupSum(d.Q.Dot(key1), lane, lanes), keyPosition + 1, value1);
            }
        }

        Finish(a, tile * Vectors, chunk, vectors, lane, lanes, dim, partialO, partialLse);
        Finish(b, (tile * Vectors) + 1, chunk, vectors, lane, lanes, dim, partialO, partialLse);
        Finish(c, (tile * Vectors) + 2, chunk, vectors, lane, lanes, dim, partialO, partialLse);
        Finish(d, (tile * Vectors) + 3, chunk, vectors, lane, lanes, dim, partialO, partialLse);
    }

    /// <summary>
    /// Grid x = query rows, y = heads; group = threads over the head dim. Folds the <paramref name="chunks"/> partials of
    /// (row, head) in chunk order and merges the result into the running O/LSE (or writes it, when p.Merge is 0).
    /// </summary>
    public static void Merge(FlashParams p, int chunks, ArrayView<float> partialO, ArrayView<float> partialLse, ArrayView<float> o, ArrayView<float> lse)
    {
        int row = Grid.IdxX;
        int h = Grid.IdxY;
        int kvh = h / p.Group;
        int vector = (row * p.Group) + (h % p.Group);
        int vectors = p.QCount * p.Group;
        int dim = p.HeadDim;
        // The group's threads split the chunks for the max and the sum of exponentials (reduced through shared memory,
        // in the same order every time); a single thread walking a long chain of dependent steps measured a third of
        // a millisecond a launch.
        var shared = SharedMemory.Allocate<float>(MergeThreads);
        float top = float.NegativeInfinity;
        for (int c = Group.IdxX; c < chunks; c += Group.DimX)
        {
            float l = partialLse[PartialIndex(c, kvh, vector, vectors, p.KvHeads)];
            top = l > top ? l : top;
        }

        top = GroupReduce(shared, top, max: true);
        float total = float.NegativeInfinity;
        if (top != float.NegativeInfinity)
        {
            float sumExp = 0f;
            for (int c = Group.IdxX; c < chunks; c += Group.DimX)
            {
                sumExp += SoftMath.Exp2((partialLse[PartialIndex(c, kvh, vector, vectors, p.KvHeads)] - top) * SoftmaxMerge.Log2E);
            }

            total = top + (SoftMath.Log2(GroupReduce(shared, sumExp, max: false)) * SoftmaxMerge.Ln2);
        }

        long lseIndex = (long)h * p.LseStride + p.QRowOffset + row;
        float old = p.Merge != 0 ? lse[lseIndex] : float.NegativeInfinity;
        float merged = SoftmaxMerge.Combine<PortableMath>(old, total, out float wOld, out float wNew);
        long oBase = ((long)(p.QRowOffset + row) * p.Heads + h) * dim;
        // Each chunk's weight once, into shared memory; then the threads split (dim, chunk group): thread t sums dim
        // t % D over chunks t / D, t / D + G, ... with four independent accumulators (four loads in flight), and the
        // G partial sums of a dim add up in group order. One thread per dim walking every chunk measured 236 µs a launch.
        var weights = SharedMemory.Allocate<float>(MaxChunks);
        for (int c = Group.IdxX; c < chunks; c += Group.DimX)
        {
            weights[c] = total == float.NegativeInfinity ? 0f
                : SoftMath.Exp2((partialLse[PartialIndex(c, kvh, vector, vectors, p.KvHeads)] - total) * SoftmaxMerge.Log2E);
        }

        Group.Barrier();
        int groups = Group.DimX / dim > 0 ? Group.DimX / dim : 1;
        for (int x0 = 0; x0 < dim; x0 += Group.DimX)
        {
            int t = Group.IdxX;
            int x = x0 + (t % dim);
            int g = t / dim;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            if (g < groups && x < dim)
            {
                int c = g;
                for (; c + (3 * groups) < chunks; c += 4 * groups)
                {
                    s0 += weights[c] * partialO[(PartialIndex(c, kvh, vector, vectors, p.KvHeads) * dim) + x];
                    s1 += weights[c + groups] * partialO[(PartialIndex(c + groups, kvh, vector, vectors, p.KvHeads) * dim) + x];
                    s2 += weights[c + (2 * groups)] * partialO[(PartialIndex(c + (2 * groups), kvh, vector, vectors, p.KvHeads) * dim) + x];
                    s3 += weights[c + (3 * groups)] * partialO[(PartialIndex(c + (3 * groups), kvh, vector, vectors, p.KvHeads) * dim) + x];
                }

                for (; c < chunks; c += groups)
                {
                    s0 += weights[c] * partialO[(PartialIndex(c, kvh, vector, vectors, p.KvHeads) * dim) + x];
                }
            }

            Group.Barrier();
            shared[t] = (s0 + s1) + (s2 + s3);
            Group.Barrier();
            if (g == 0 && x < dim)
            {
                float sum = 0f;
                for (int k = 0; k < groups; k++)
                {
                    sum += shared[(k * dim) + (t % dim)];
                }

                o[oBase + x] = p.Merge != 0 ? (wOld * o[oBase + x]) + (wNew * sum) : total == float.NegativeInfinity ? 0f : sum;
            }
        }

        Group.Barrier();
        if (Group.IdxX == 0)
        {
            lse[lseIndex] = p.Merge != 0 ? merged : total;
        }
    }

    /// <summary>Most threads of a merge group (its shared reduction buffer).</summary>
    public const int MergeThreads = 512;

    /// <summary>Most chunks of one launch (the merge keeps their weights in shared memory).</summary>
    public const int MaxChunks = 4096;

    /// <summary>Max or sum over the group's threads, in every thread; thread order fixed (a tree over thread indices).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float GroupReduce(ArrayView<float> shared, float value, bool max)
    {
        Group.Barrier();
        shared[Group.IdxX] = value;
        Group.Barrier();
        for (int width = Group.DimX / 2; width > 0; width /= 2)
        {
            if (Group.IdxX < width)
            {
                float other = shared[Group.IdxX + width];
                float mine = shared[Group.IdxX];
                shared[Group.IdxX] = max ? (other > mine ? other : mine) : mine + other;
            }

            Group.Barrier();
        }

        return shared[0];
    }

    /// <summary>Index of (chunk, kv head, vector) in the partial buffers (o: times the head dim).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long PartialIndex(int chunk, int kvh, int vector, int vectors, int kvHeads) =>
        (((long)chunk * kvHeads) + kvh) * vectors + vector;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeQuery Start<TQuad>(FlashParams p, ArrayView<ulong> q, int vector, int kvh, int lane, int lanes, int vectors)
        where TQuad : struct, IDecodeQuad
    {
        var state = new DecodeQuery { M = float.NegativeInfinity, L = 0f, Position = -1 };
        if (vector < vectors)
        {
            int row = vector / p.Group;
            int h = (kvh * p.Group) + (vector % p.Group);
            state.Q = Load<TQuad>(q, ((long)(p.QRowOffset + row) * p.Heads + h) * p.HeadDim, lane, lanes, p.HeadDim);
            state.Position = (long)p.QPos0 + row;
        }

        return state;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeQuery Step(FlashParams p, DecodeQuery state, float score, long keyPosition, DecodeSlots value)
    {
        long delta = state.Position - keyPosition;
        if (state.Position < 0 || delta < p.DMin || delta > p.DMax)
        {
            return state;
        }

        float s = score * p.ScaleLog2;
        if (s > state.M)
        {
            // A new maximum (rare after the first keys): rescale what was summed so far.
            float alpha = SoftMath.Exp2(state.M - s);
            state.Acc = state.Acc.Scaled(alpha);
            state.L *= alpha;
            state.M = s;
        }

        float e = SoftMath.Exp2(s - state.M);
        state.Acc = state.Acc.ScaledPlus(1f, value, e);
        state.L += e;
        return state;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(DecodeQuery state, int vector, int chunk, int vectors, int lane, int lanes, int dim, ArrayView<float> partialO, ArrayView<float> partialLse)
    {
        if (vector >= vectors)
        {
            return;
        }

        // The partial buffers are laid out [chunk][kv head][vector]: the caller passes the kv head through the grid.
        long at = PartialIndex(chunk, Grid.IdxY, vector, vectors, Grid.DimY);
        var o = state.Acc.Scaled(state.L > 0f ? 1f / state.L : 0f);
        long row = at * dim;
        int x = 4 * lane;
        if (x < dim)
        {
            partialO[row + x] = o.S0;
            partialO[row + x + 1] = o.S1;
            partialO[row + x + 2] = o.S2;
            partialO[row + x + 3] = o.S3;
        }

        x += 4 * lanes;
        if (x < dim)
        {
            partialO[row + x] = o.S4;
            partialO[row + x + 1] = o.S5;
            partialO[row + x + 2] = o.S6;
            partialO[row + x + 3] = o.S7;
        }

        if (lane == 0)
        {
            partialLse[at] = state.L > 0f ? SoftmaxMerge.BlockLse<PortableMath>(state.M, state.L) : float.NegativeInfinity;
        }
    }

    /// <summary>A lane's slots of one row: dims 4l..4l+3 and 4(l+L)..4(l+L)+3 (zero past the head dim, a multiple of 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeSlots Load<TQuad>(ArrayView<ulong> data, long rowBase, int lane, int lanes, int dim)
        where TQuad : struct, IDecodeQuad
    {
        var slots = default(DecodeSlots);
        int x = 4 * lane;
        if (x < dim)
        {
            (slots.S0, slots.S1, slots.S2, slots.S3) = default(TQuad).Load(data, rowBase + x);
        }

        x += 4 * lanes;
        if (x < dim)
        {
            (slots.S4, slots.S5, slots.S6, slots.S7) = default(TQuad).Load(data, rowBase + x);
        }

        return slots;
    }

    /// <summary>
    /// The sum over the group's lanes, in every lane: a butterfly within each warp, then (on an accelerator whose warps
    /// are narrower than the group, as ILGPU's CPU one) the warps' sums through shared memory.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float GroupSum(float value, int lane, int lanes)
    {
        for (int offset = Warp.WarpSize / 2; offset > 0; offset /= 2)
        {
            value += Warp.ShuffleXor(value, offset);
        }

        if (lanes <= Warp.WarpSize)
        {
            return value;
        }

        var partial = SharedMemory.Allocate<float>(64);
        Group.Barrier();
        if (Warp.LaneIdx == 0)
        {
            partial[lane / Warp.WarpSize] = value;
        }

        Group.Barrier();
        float total = 0f;
        for (int w = 0; w < lanes / Warp.WarpSize; w++)
        {
            total += partial[w];
        }

        return total;
    }
}
