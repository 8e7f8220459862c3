using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Split-K attention for few query rows (decode; flash-decoding) over K/V that may lie in many allocations (a session
/// shard's pages): the launch walks a table of chunks, each up to a few hundred consecutive rows of one run (rows of one
/// allocation at consecutive positions), given by device address, row count and first position (<see cref="ChunkLongs"/>
/// longs each). One warp per (chunk, kv head, tile of <see cref="Vectors"/> query vectors), where a query vector is one
/// (row, query head) of the kv head's group: the query heads that share a kv head read its K/V rows once.
/// Inside the warp, <c>p.BlockRows</c> lanes share a key (lane s of them holds dims 16s..16s+15: each row is read
/// coalesced, sixteen floats a lane) and the warp's lane groups walk the chunk's keys side by side, each with its own
/// online softmax, folded together by LSE at the end of the chunk; a score is its lane group's sum of partials. Each
/// chunk writes its normalised partial (o, lse); <see cref="DecodeMerge"/> folds the chunks into the running result by the
/// same LSE merge as every kernel. Portable ILGPU plus one load primitive (<see cref="IWordRead"/>): the GPU runs it
/// with PTX loads and ex2, ILGPU's CPU accelerator in CI with host reads and float exp2.
/// </summary>
internal static class DecodeKernel
{
    /// <summary>Longs per chunk in the table: K address of its first row (kv head 0), V address, rows, first position.</summary>
    public const int ChunkLongs = 4;

    /// <summary>Query vectors per warp.</summary>
    public const int Vectors = 4;

    /// <summary>
    /// Most query vectors (rows x group size) a launch takes this path for: two tiles. Every tile reads the K/V rows
    /// again, so more vectors go faster through the tiled kernels (measured on the H200 at 1M keys, 8 kv heads, with the
    /// first version of this kernel: 64 vectors 177 ms here against 40 ms tiled).
    /// </summary>
    public const int MaxVectors = 8;

    /// <summary>Fewest keys a launch takes this path for (below, one tiled block is as quick).</summary>
    public const int MinKeys = 32;

    /// <summary>Lanes that share one key: sixteen dims each, a power of two.</summary>
    public static int LanesPerKey(int headDim) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)((headDim + DecodeSlots.Count - 1) / DecodeSlots.Count));

    /// <summary>Whether this path serves a launch: few query vectors, enough keys to split, head dims in whole quads
    /// that the lanes of one warp cover.</summary>
    public static bool Serves(int rows, int group, int keys, int headDim, int warpSize) =>
        (long)rows * group <= MaxVectors && keys >= MinKeys && headDim % 4 == 0 && LanesPerKey(headDim) <= warpSize;

    /// <summary>
    /// Grid x = chunk x tiles + tile (the tiles of a chunk side by side, so that the second reads its rows from L2),
    /// y = kv heads; group = one warp. p.BlockRows = lanes per key, p.BlockKeys = tiles.
    /// </summary>
    public static void Split<TQuad, TRead, TMath>(
        FlashParams p,
        ArrayView<ulong> q,
        ArrayView<long> chunks,
        ArrayView<float> partialO,
        ArrayView<float> partialLse)
        where TQuad : struct, IDecodeQuad
        where TRead : struct, IWordRead
        where TMath : struct, IMergeMath
    {
        int tiles = p.BlockKeys;
        int chunk = Grid.IdxX / tiles;
        int v0 = (Grid.IdxX - (chunk * tiles)) * Vectors;
        int kvh = Grid.IdxY;
        int lane = Group.IdxX;
        int perKey = p.BlockRows;
        int sub = lane & (perKey - 1);
        int keyLane = lane / perKey;
        int keyLanes = Group.DimX / perKey;
        int dim = p.HeadDim;
        int vectors = p.QCount * p.Group;
        long kAddr = chunks[ChunkLongs * chunk];
        long vAddr = chunks[(ChunkLongs * chunk) + 1];
        int rows = (int)chunks[(ChunkLongs * chunk) + 2];
        int pos0 = (int)chunks[(ChunkLongs * chunk) + 3];
        int bytes = default(TQuad).ElementBytes;
        long rowBytes = (long)p.KvHeads * dim * bytes;
        long laneOffset = (((long)kvh * dim) + (sub * DecodeSlots.Count)) * bytes;
        var a = Start<TQuad>(p, q, v0, kvh, sub, vectors);
        var b = Start<TQuad>(p, q, v0 + 1, kvh, sub, vectors);
        var c = Start<TQuad>(p, q, v0 + 2, kvh, sub, vectors);
        var d = Start<TQuad>(p, q, v0 + 3, kvh, sub, vectors);
        // A chunk every key of which every vector of the tile sees (decode against the past, no window edge) skips the
        // per-key mask test.
        int last = (v0 + Vectors < vectors ? v0 + Vectors : vectors) - 1;
        bool full = p.QPos0 + (v0 / p.Group) - (pos0 + rows - 1) >= p.DMin && p.QPos0 + (last / p.Group) - pos0 <= p.DMax;
        // Two keys a lane group each turn, all loads before any use: two memory latencies overlap. The loop bound is the
        // same in every lane (the shuffles need the whole warp); lanes past the chunk's end load nothing.
        for (int j0 = 0; j0 < rows; j0 += 2 * keyLanes)
        {
            int j = j0 + keyLane;
            bool has0 = j < rows;
            bool has1 = j + keyLanes < rows;
            long at = (j * rowBytes) + laneOffset;
            var key0 = has0 ? Read<TQuad, TRead>(kAddr + at, sub, dim) : default;
            var value0 = has0 ? Read<TQuad, TRead>(vAddr + at, sub, dim) : default;
            var key1 = has1 ? Read<TQuad, TRead>(kAddr + at + (keyLanes * rowBytes), sub, dim) : default;
            var value1 = has1 ? Read<TQuad, TRead>(vAddr + at + (keyLanes * rowBytes), sub, dim) : default;
            int position = pos0 + j;
            a = Step<TMath>(p, a, KeySum(a.Q.Dot(key0), perKey), has0, full, position, value0);
            b = Step<TMath>(p, b, KeySum(b.Q.Dot(key0), perKey), has0, full, position, value0);
            c = Step<TMath>(p, c, KeySum(c.Q.Dot(key0), perKey), has0, full, position, value0);
            d = Step<TMath>(p, d, KeySum(d.Q.Dot(key0), perKey), has0, full, position, value0);
            a = Step<TMath>(p, a, KeySum(a.Q.Dot(key1), perKey), has1, full, position + keyLanes, value1);
            b = Step<TMath>(p, b, KeySum(b.Q.Dot(key1), perKey), has1, full, position + keyLanes, value1);
            c = Step<TMath>(p, c, KeySum(c.Q.Dot(key1), perKey), has1, full, position + keyLanes, value1);
            d = Step<TMath>(p, d, KeySum(d.Q.Dot(key1), perKey), has1, full, position + keyLanes, value1);
        }

        // The lane groups' states folded pairwise, perKey, 2 perKey, ... lanes apart: a fixed order (the same bits every
        // run), and every lane ends with the whole chunk's state.
        for (int offset = perKey; offset < Group.DimX; offset *= 2)
        {
            a = Fold<TMath>(a, offset);
            b = Fold<TMath>(b, offset);
            c = Fold<TMath>(c, offset);
            d = Fold<TMath>(d, offset);
        }

        if (keyLane == 0)
        {
            Finish<TMath>(a, v0, chunk, kvh, vectors, sub, p, partialO, partialLse);
            Finish<TMath>(b, v0 + 1, chunk, kvh, vectors, sub, p, partialO, partialLse);
            Finish<TMath>(c, v0 + 2, chunk, kvh, vectors, sub, p, partialO, partialLse);
            Finish<TMath>(d, v0 + 3, chunk, kvh, vectors, sub, p, partialO, partialLse);
        }
    }

    /// <summary>Index of (chunk, kv head, vector) in the partial buffers (o: times the head dim).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long PartialIndex(int chunk, int kvh, int vector, int vectors, int kvHeads) =>
        (((long)chunk * kvHeads) + kvh) * vectors + vector;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeQuery Start<TQuad>(FlashParams p, ArrayView<ulong> q, int vector, int kvh, int sub, int vectors)
        where TQuad : struct, IDecodeQuad
    {
        var state = new DecodeQuery { M = float.NegativeInfinity, L = 0f, Position = -1 };
        if (vector < vectors)
        {
            int row = vector / p.Group;
            int h = (kvh * p.Group) + (vector % p.Group);
            long at = ((((long)(p.QRowOffset + row) * p.Heads) + h) * p.HeadDim) + (sub * DecodeSlots.Count);
            int x = sub * DecodeSlots.Count;
            var s = default(DecodeSlots);
            if (x < p.HeadDim)
            {
                (s.S0, s.S1, s.S2, s.S3) = default(TQuad).Load(q, at);
            }

            if (x + 4 < p.HeadDim)
            {
                (s.S4, s.S5, s.S6, s.S7) = default(TQuad).Load(q, at + 4);
            }

            if (x + 8 < p.HeadDim)
            {
                (s.S8, s.S9, s.S10, s.S11) = default(TQuad).Load(q, at + 8);
            }

            if (x + 12 < p.HeadDim)
            {
                (s.S12, s.S13, s.S14, s.S15) = default(TQuad).Load(q, at + 12);
            }

            state.Q = s;
            state.Position = p.QPos0 + row;
        }

        return state;
    }

    /// <summary>A lane's sixteen dims of one K or V row at <paramref name="address"/> (zero past the head dim).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeSlots Read<TQuad, TRead>(long address, int sub, int dim)
        where TQuad : struct, IDecodeQuad
        where TRead : struct, IWordRead
    {
        var s = default(DecodeSlots);
        int x = sub * DecodeSlots.Count;
        int step = 4 * default(TQuad).ElementBytes;
        if (x < dim)
        {
            (s.S0, s.S1, s.S2, s.S3) = default(TQuad).Read<TRead>(address);
        }

        if (x + 4 < dim)
        {
            (s.S4, s.S5, s.S6, s.S7) = default(TQuad).Read<TRead>(address + step);
        }

        if (x + 8 < dim)
        {
            (s.S8, s.S9, s.S10, s.S11) = default(TQuad).Read<TRead>(address + (2 * step));
        }

        if (x + 12 < dim)
        {
            (s.S12, s.S13, s.S14, s.S15) = default(TQuad).Read<TRead>(address + (3 * step));
        }

        return s;
    }

    /// <summary>The sum over the <paramref name="perKey"/> lanes that share a key (a butterfly), in each of them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float KeySum(float value, int perKey)
    {
        for (int offset = perKey / 2; offset > 0; offset /= 2)
        {
            value += Warp.ShuffleXor(value, offset);
        }

        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeQuery Step<TMath>(FlashParams p, DecodeQuery state, float score, bool has, bool full, int keyPosition, DecodeSlots value)
        where TMath : struct, IMergeMath
    {
        if (state.Position < 0 || !has)
        {
            return state;
        }

        if (!full)
        {
            int delta = state.Position - keyPosition;
            if (delta < p.DMin || delta > p.DMax)
            {
                return state;
            }
        }

        float s = score * p.ScaleLog2;
        if (s > state.M)
        {
            // A new maximum (rare after the first keys): rescale what was summed so far.
            float alpha = default(TMath).Exp2(state.M - s);
            state.Acc = state.Acc.Scaled(alpha);
            state.L *= alpha;
            state.M = s;
        }

        float e = default(TMath).Exp2(s - state.M);
        state.Acc = state.Acc.Plus(value, e);
        state.L += e;
        return state;
    }

    /// <summary>This lane group's state merged with the one <paramref name="offset"/> lanes away (every lane takes part).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeQuery Fold<TMath>(DecodeQuery state, int offset)
        where TMath : struct, IMergeMath
    {
        float otherM = Warp.ShuffleXor(state.M, offset);
        float otherL = Warp.ShuffleXor(state.L, offset);
        var otherAcc = state.Acc.ShuffleXor(offset);
        float m = otherM > state.M ? otherM : state.M;
        if (m == float.NegativeInfinity)
        {
            return state;
        }

        // An empty side has M = -inf, so its weight is exp2(-inf) = 0.
        float wMine = default(TMath).Exp2(state.M - m);
        float wOther = default(TMath).Exp2(otherM - m);
        state.Acc = state.Acc.Blend(wMine, otherAcc, wOther);
        state.L = (state.L * wMine) + (otherL * wOther);
        state.M = m;
        return state;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TMath>(DecodeQuery state, int vector, int chunk, int kvh, int vectors, int sub, FlashParams p, ArrayView<float> partialO, ArrayView<float> partialLse)
        where TMath : struct, IMergeMath
    {
        if (vector >= vectors)
        {
            return;
        }

        long at = PartialIndex(chunk, kvh, vector, vectors, p.KvHeads);
        var o = state.Acc.Scaled(state.L > 0f ? 1f / state.L : 0f);
        long row = (at * p.HeadDim) + (sub * DecodeSlots.Count);
        int x = sub * DecodeSlots.Count;
        int dim = p.HeadDim;
        if (x < dim)
        {
            partialO[row] = o.S0;
            partialO[row + 1] = o.S1;
            partialO[row + 2] = o.S2;
            partialO[row + 3] = o.S3;
        }

        if (x + 4 < dim)
        {
            partialO[row + 4] = o.S4;
            partialO[row + 5] = o.S5;
            partialO[row + 6] = o.S6;
            partialO[row + 7] = o.S7;
        }

        if (x + 8 < dim)
        {
            partialO[row + 8] = o.S8;
            partialO[row + 9] = o.S9;
            partialO[row + 10] = o.S10;
            partialO[row + 11] = o.S11;
        }

        if (x + 12 < dim)
        {
            partialO[row + 12] = o.S12;
            partialO[row + 13] = o.S13;
            partialO[row + 14] = o.S14;
            partialO[row + 15] = o.S15;
        }

        if (sub == 0)
        {
            partialLse[at] = state.L > 0f ? SoftmaxMerge.BlockLse<TMath>(state.M, state.L) : float.NegativeInfinity;
        }
    }
}
