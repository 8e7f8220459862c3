using System.Runtime.CompilerServices;
using ILGPU;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The split-K decode kernel on tensor cores, for 16-bit K/V with head dims a multiple of 16 up to 128 and at most
/// <see cref="MaxVectors"/> query vectors: the chunk table, partial buffers and merge of <see cref="DecodeKernel"/>, but
/// each warp of a group computes S = Q·Kᵀ and O += P·V as m16n8k16 mma for a tile of <see cref="VectorsPerWarp"/> query
/// vectors (rows 0-7 of A, rows 8-15 zero) or, past 8 vectors, <see cref="WideVectorsPerWarp"/> (rows 0-15), 16 keys a
/// turn; the warps of a group (one per tile) walk the same chunk, so their K/V loads after the first come from L1. <see cref="DecodeKernel"/> spends ~107 warp
/// instructions per key and kv head on float dot products (ncu, H200); here a turn of 16 keys is 32 mma.
/// <para>
/// Layouts chosen so that every operand comes from whole 8-byte loads: the dot product does not care how dims are
/// assigned to k-slots, so lane (g, t) feeds k-tile j with dims 16j + 4t .. +3 of its K row (one word; the warp reads 32
/// contiguous bytes a row) and q uses the same assignment; P·V's output columns are permuted instead (n-tile 4i + u,
/// column n = dim 32i + 4n + u), so that the lane's B fragments are the u-th elements of word i of four V rows (keys
/// 2t, 2t + 1, 2t + 8, 2t + 9 of the turn), and the C fragment of S is P's A fragment as it stands (FlashAttention-2's
/// register reuse). P is rounded to the input type for the product (as FlashAttention does); the row sums use it unrounded.
/// </para>
/// </summary>
internal static class DecodeMmaKernel
{
    /// <summary>Largest head dim served (eight k-tiles, sixteen output n-tiles a lane).</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Keys a warp takes per turn: two n-tiles of S, one k-tile of P·V.</summary>
    public const int KeysPerTurn = 16;

    /// <summary>Query vectors a warp takes: the rows of A whose S and O fragments lie in c0, c1 (rows 8-15 stay zero, so
    /// that the accumulators take 2 registers an n-tile, not 4).</summary>
    public const int VectorsPerWarp = 8;

    /// <summary>Query vectors a warp takes when a launch has more than <see cref="VectorsPerWarp"/>: every row of A, so the
    /// accumulators take 4 registers an n-tile and half as many warps do the products (and read K/V) as with 8.</summary>
    public const int WideVectorsPerWarp = 16;

    /// <summary>Most query vectors of a launch (rows x group size): four wide warps of a group (n = 16 rows at GQA 4).</summary>
    public const int MaxVectors = 64;

    /// <summary>Whether a launch of <paramref name="vectors"/> query vectors takes 16 a warp.</summary>
    public static bool Wide(int vectors) => vectors > VectorsPerWarp;

    /// <summary>Warps of a group for <paramref name="vectors"/> query vectors.</summary>
    public static int Warps(int vectors)
    {
        int perWarp = Wide(vectors) ? WideVectorsPerWarp : VectorsPerWarp;
        return (vectors + perWarp - 1) / perWarp;
    }

    /// <summary>Whether a launch can run here: 16-bit elements, head dims in whole k-tiles up to 128, at most
    /// <see cref="MaxVectors"/> query vectors, 32-lane warps.</summary>
    public static bool Serves(ElementType type, int vectors, int headDim, int warpSize) =>
        type is ElementType.BF16 or ElementType.F16 && vectors <= MaxVectors && headDim % 16 == 0 &&
        headDim <= MaxHeadDim && warpSize == 32;

    /// <summary>Grid x = chunk, y = kv head; group = <see cref="Warps"/> warps, warp w taking vectors 8w .. 8w + 7 (wide:
    /// 16w .. 16w + 15, lane (g, t) holding rows g and g + 8: <see cref="IDecodeWidth"/>, a type argument like the dim). The
    /// head dim is a type argument (<see cref="IDecodeHeadDim"/>): each dim compiles to its own kernel whose k-tile and
    /// n-tile guards fold away (as a run-time value they were ~110 branches a turn, ncu: 569 warp instructions a turn).</summary>
    public static void Split<TMma, TRead, TMath, TDim, TWidth>(
        FlashParams p,
        ArrayView<ulong> q,
        ArrayView<long> chunks,
        ArrayView<float> partialO,
        ArrayView<float> partialLse)
        where TMma : struct, IHalfMma
        where TRead : struct, IWordRead
        where TMath : struct, IMergeMath
        where TDim : struct, IDecodeHeadDim
        where TWidth : struct, IDecodeWidth
    {
        int chunk = Grid.IdxX;
        int kvh = Grid.IdxY;
        int lane = Group.IdxX & 31;
        bool wide = default(TWidth).Wide;
        int g = lane >> 2;
        int t = lane & 3;
        int vector = ((Group.IdxX >> 5) * (wide ? WideVectorsPerWarp : VectorsPerWarp)) + g;
        int vectorB = vector + 8;
        int dim = default(TDim).Value;
        int vectors = p.QCount * p.Group;
        long kAddr = chunks[DecodeKernel.ChunkLongs * chunk];
        long vAddr = chunks[(DecodeKernel.ChunkLongs * chunk) + 1];
        int rows = (int)chunks[(DecodeKernel.ChunkLongs * chunk) + 2];
        int pos0 = (int)chunks[(DecodeKernel.ChunkLongs * chunk) + 3];
        long rowBytes = (long)p.KvHeads * dim * 2;
        long head = (long)kvh * dim * 2;
        long kLane = head + (8 * t);
        long vLane = head + (8 * g);

        // Lane (g, t) holds its vector's row g of A, and when wide row g + 8 (vectors past the launch are zero rows,
        // their results unused).
        bool mine = vector < vectors;
        bool mineB = wide && vectorB < vectors;
        int row = vector / p.Group;
        int rowB = vectorB / p.Group;
        var qw = mine ? DecodeMmaOperands.LoadQ(q, QIndex(p, kvh, vector, dim) + (4 * t), dim) : default;
        var qb = mineB ? DecodeMmaOperands.LoadQ(q, QIndex(p, kvh, vectorB, dim) + (4 * t), dim) : default;
        int qPos = p.QPos0 + row;
        int qPosB = p.QPos0 + rowB;
        // A chunk every key of which every vector sees (decode against the past, no window edge) skips the mask tests.
        bool full = p.QPos0 - (pos0 + rows - 1) >= p.DMin && p.QPos0 + ((vectors - 1) / p.Group) - pos0 <= p.DMax;
        float m = float.NegativeInfinity;
        float l = 0f;
        float mB = float.NegativeInfinity;
        float lB = 0f;
        var o = default(DecodeOutput);
        var ob = default(DecodeOutput);
        // Every load of a turn is issued before its first use; the loop bound is the same in every lane (mma needs the
        // whole warp), lanes past the chunk's end load nothing and see -inf scores.
        for (int kb = 0; kb < rows; kb += KeysPerTurn)
        {
            int k0 = kb + g;
            int v0 = kb + (2 * t);
            // Every turn of a chunk but its last is whole: its loads need no row guards (each guard was a branch).
            var turn = kb + KeysPerTurn <= rows
                ? DecodeMmaOperands.LoadTurn<TRead>(kAddr, vAddr, rowBytes, kLane, vLane, k0, v0, int.MaxValue, dim, g)
                : DecodeMmaOperands.LoadTurn<TRead>(kAddr, vAddr, rowBytes, kLane, vLane, k0, v0, rows, dim, g);
            var s0 = Scores<TMma>(qw, qb, turn.K0, dim);
            var s1 = Scores<TMma>(qw, qb, turn.K1, dim);
            // Lane (g, t) now has its vectors' scores of keys 2t, 2t + 1 (s0) and 2t + 8, 2t + 9 (s1) of the turn: row g
            // in C0, C1, row g + 8 in C2, C3. A whole turn of a chunk every key of which is visible (most turns of a
            // decode) needs no tests at all. Rows of vectors past the launch are not masked either: their q is zero,
            // their scores finite, their results unused, and a row's softmax never mixes with another's.
            bool plain = full && kb + KeysPerTurn <= rows;
            float x0 = plain ? s0.C0 * p.ScaleLog2 : Logit(p, s0.C0, full, qPos, pos0, v0, rows);
            float x1 = plain ? s0.C1 * p.ScaleLog2 : Logit(p, s0.C1, full, qPos, pos0, v0 + 1, rows);
            float x2 = plain ? s1.C0 * p.ScaleLog2 : Logit(p, s1.C0, full, qPos, pos0, v0 + 8, rows);
            float x3 = plain ? s1.C1 * p.ScaleLog2 : Logit(p, s1.C1, full, qPos, pos0, v0 + 9, rows);
            float alpha = Softmax<TMath>(ref m, ref l, ref x0, ref x1, ref x2, ref x3);
            uint pa0 = default(TMma).Pack(x0, x1);
            uint pa2 = default(TMma).Pack(x2, x3);
            uint pa1 = 0;
            uint pa3 = 0;
            float alphaB = 1f;
            if (wide)
            {
                float y0 = plain ? s0.C2 * p.ScaleLog2 : Logit(p, s0.C2, full, qPosB, pos0, v0, rows);
                float y1 = plain ? s0.C3 * p.ScaleLog2 : Logit(p, s0.C3, full, qPosB, pos0, v0 + 1, rows);
                float y2 = plain ? s1.C2 * p.ScaleLog2 : Logit(p, s1.C2, full, qPosB, pos0, v0 + 8, rows);
                float y3 = plain ? s1.C3 * p.ScaleLog2 : Logit(p, s1.C3, full, qPosB, pos0, v0 + 9, rows);
                alphaB = Softmax<TMath>(ref mB, ref lB, ref y0, ref y1, ref y2, ref y3);
                pa1 = default(TMma).Pack(y0, y1);
                pa3 = default(TMma).Pack(y2, y3);
                ob = ob.Scaled(alphaB);
            }

            var sums = Accumulate<TMma>(o.Scaled(alpha), ob, wide, pa0, pa1, pa2, pa3, turn.Va, turn.Vb, turn.Vc, turn.Vd, dim);
            o = sums.A;
            ob = sums.B;
        }

        // A row's sum is spread over the quad of lanes that hold it.
        l += Warp.ShuffleXor(l, 1);
        l += Warp.ShuffleXor(l, 2);
        if (wide)
        {
            lB += Warp.ShuffleXor(lB, 1);
            lB += Warp.ShuffleXor(lB, 2);
        }

        if (mine)
        {
            Finish<TMath>(o, m, l, DecodeKernel.PartialIndex(chunk, kvh, vector, vectors, p.KvHeads), t, dim, partialO, partialLse);
        }

        if (mineB)
        {
            Finish<TMath>(ob, mB, lB, DecodeKernel.PartialIndex(chunk, kvh, vectorB, vectors, p.KvHeads), t, dim, partialO, partialLse);
        }
    }

    /// <summary>Where a query vector's row of q starts (in elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long QIndex(FlashParams p, int kvh, int vector, int dim) =>
        (((long)(p.QRowOffset + (vector / p.Group)) * p.Heads) + (kvh * p.Group) + (vector % p.Group)) * dim;

    /// <summary>One online-softmax step of a row over the lane's four logits (a quad of lanes shares the row): the
    /// logits become their weights, m and l move on, the return is the factor for the running output.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Softmax<TMath>(ref float m, ref float l, ref float x0, ref float x1, ref float x2, ref float x3)
        where TMath : struct, IMergeMath
    {
        float top = Max(Max(x0, x1), Max(x2, x3));
        top = Max(top, Warp.ShuffleXor(top, 1));
        top = Max(top, Warp.ShuffleXor(top, 2));
        float next = Max(m, top);
        // While every key so far is masked the maximum is -inf: subtract 0 instead, so that every weight is exp2(-inf) = 0.
        float shift = next == float.NegativeInfinity ? 0f : next;
        float alpha = default(TMath).Exp2(m - shift);
        x0 = default(TMath).Exp2(x0 - shift);
        x1 = default(TMath).Exp2(x1 - shift);
        x2 = default(TMath).Exp2(x2 - shift);
        x3 = default(TMath).Exp2(x3 - shift);
        l = (l * alpha) + ((x0 + x1) + (x2 + x3));
        m = next;
        return alpha;
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Max(float a, float b) => a > b ? a : b;

    /// <summary>The score in log2 units, or -inf where the key lies past the chunk or outside the vector's mask.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Logit(FlashParams p, float score, bool full, int qPos, int pos0, int key, int rows)
    {
        if (key >= rows)
        {
            return float.NegativeInfinity;
        }

        if (!full)
        {
            int delta = qPos - (pos0 + key);
            if (delta < p.DMin || delta > p.DMax)
            {
                return float.NegativeInfinity;
            }
        }

        return score * p.ScaleLog2;
    }

    /// <summary>S of the 8 keys whose rows the lanes' g hold, against the query vectors (rows 0-7 of A from
    /// <paramref name="q"/>, rows 8-15 from <paramref name="qb"/>: zero unless wide).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile4 Scores<TMma>(Words8 q, Words8 qb, Words8 k, int dim)
        where TMma : struct, IHalfMma
    {
        // The tile guards depend on the head dim only, a constant of the compiled kernel.
        var s = KTile<TMma>(default, q.W0, qb.W0, k.W0);
        s = dim > 16 ? KTile<TMma>(s, q.W1, qb.W1, k.W1) : s;
        s = dim > 32 ? KTile<TMma>(s, q.W2, qb.W2, k.W2) : s;
        s = dim > 48 ? KTile<TMma>(s, q.W3, qb.W3, k.W3) : s;
        s = dim > 64 ? KTile<TMma>(s, q.W4, qb.W4, k.W4) : s;
        s = dim > 80 ? KTile<TMma>(s, q.W5, qb.W5, k.W5) : s;
        s = dim > 96 ? KTile<TMma>(s, q.W6, qb.W6, k.W6) : s;
        return dim > 112 ? KTile<TMma>(s, q.W7, qb.W7, k.W7) : s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile4 KTile<TMma>(Tile4 s, ulong q, ulong qb, ulong k)
        where TMma : struct, IHalfMma =>
        default(TMma).Mma(s, (uint)q, (uint)qb, (uint)(q >> 32), (uint)(qb >> 32), (uint)k, (uint)(k >> 32));

    /// <summary>O += P·V over the output n-tiles that hold dims (groups of 32 dims: word i of the V rows), for rows g
    /// (<paramref name="o"/>) and, when wide, g + 8 (<paramref name="ob"/>; passed through otherwise). P's A fragment:
    /// rows g, g + 8 of keys 2t, 2t + 1 (pa0, pa1) and of keys 2t + 8, 2t + 9 (pa2, pa3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeOutputs Accumulate<TMma>(DecodeOutput o, DecodeOutput ob, bool wide, uint pa0, uint pa1, uint pa2, uint pa3, Words4 va, Words4 vb, Words4 vc, Words4 vd, int dim)
        where TMma : struct, IHalfMma
    {
        Tile4 t;
        t = NTile<TMma>(o.O0, ob.O0, wide, pa0, pa1, pa2, pa3, va.W0, vb.W0, vc.W0, vd.W0, 0);
        o.O0 = new Tile2(t.C0, t.C1);
        ob.O0 = wide ? new Tile2(t.C2, t.C3) : ob.O0;
        t = NTile<TMma>(o.O1, ob.O1, wide, pa0, pa1, pa2, pa3, va.W0, vb.W0, vc.W0, vd.W0, 1);
        o.O1 = new Tile2(t.C0, t.C1);
        ob.O1 = wide ? new Tile2(t.C2, t.C3) : ob.O1;
        t = NTile<TMma>(o.O2, ob.O2, wide, pa0, pa1, pa2, pa3, va.W0, vb.W0, vc.W0, vd.W0, 2);
        o.O2 = new Tile2(t.C0, t.C1);
        ob.O2 = wide ? new Tile2(t.C2, t.C3) : ob.O2;
        t = NTile<TMma>(o.O3, ob.O3, wide, pa0, pa1, pa2, pa3, va.W0, vb.W0, vc.W0, vd.W0, 3);
        o.O3 = new Tile2(t.C0, t.C1);
        ob.O3 = wide ? new Tile2(t.C2, t.C3) : ob.O3;
        if (dim > 32)
        {
            t = NTile<TMma>(o.O4, ob.O4, wide, pa0, pa1, pa2, pa3, va.W1, vb.W1, vc.W1, vd.W1, 0);
            o.O4 = new Tile2(t.C0, t.C1);
            ob.O4 = wide ? new Tile2(t.C2, t.C3) : ob.O4;
            t = NTile<TMma>(o.O5, ob.O5, wide, pa0, pa1, pa2, pa3, va.W1, vb.W1, vc.W1, vd.W1, 1);
            o.O5 = new Tile2(t.C0, t.C1);
            ob.O5 = wide ? new Tile2(t.C2, t.C3) : ob.O5;
            t = NTile<TMma>(o.O6, ob.O6, wide, pa0, pa1, pa2, pa3, va.W1, vb.W1, vc.W1, vd.W1, 2);
            o.O6 = new Tile2(t.C0, t.C1);
            ob.O6 = wide ? new Tile2(t.C2, t.C3) : ob.O6;
            t = NTile<TMma>(o.O7, ob.O7, wide, pa0, pa1, pa2, pa3, va.W1, vb.W1, vc.W1, vd.W1, 3);
            o.O7 = new Tile2(t.C0, t.C1);
            ob.O7 = wide ? new Tile2(t.C2, t.C3) : ob.O7;
        }

        if (dim > 64)
        {
            t = NTile<TMma>(o.O8, ob.O8, wide, pa0, pa1, pa2, pa3, va.W2, vb.W2, vc.W2, vd.W2, 0);
            o.O8 = new Tile2(t.C0, t.C1);
            ob.O8 = wide ? new Tile2(t.C2, t.C3) : ob.O8;
            t = NTile<TMma>(o.O9, ob.O9, wide, pa0, pa1, pa2, pa3, va.W2, vb.W2, vc.W2, vd.W2, 1);
            o.O9 = new Tile2(t.C0, t.C1);
            ob.O9 = wide ? new Tile2(t.C2, t.C3) : ob.O9;
            t = NTile<TMma>(o.O10, ob.O10, wide, pa0, pa1, pa2, pa3, va.W2, vb.W2, vc.W2, vd.W2, 2);
            o.O10 = new Tile2(t.C0, t.C1);
            ob.O10 = wide ? new Tile2(t.C2, t.C3) : ob.O10;
            t = NTile<TMma>(o.O11, ob.O11, wide, pa0, pa1, pa2, pa3, va.W2, vb.W2, vc.W2, vd.W2, 3);
            o.O11 = new Tile2(t.C0, t.C1);
            ob.O11 = wide ? new Tile2(t.C2, t.C3) : ob.O11;
        }

        if (dim > 96)
        {
            t = NTile<TMma>(o.O12, ob.O12, wide, pa0, pa1, pa2, pa3, va.W3, vb.W3, vc.W3, vd.W3, 0);
            o.O12 = new Tile2(t.C0, t.C1);
            ob.O12 = wide ? new Tile2(t.C2, t.C3) : ob.O12;
            t = NTile<TMma>(o.O13, ob.O13, wide, pa0, pa1, pa2, pa3, va.W3, vb.W3, vc.W3, vd.W3, 1);
            o.O13 = new Tile2(t.C0, t.C1);
            ob.O13 = wide ? new Tile2(t.C2, t.C3) : ob.O13;
            t = NTile<TMma>(o.O14, ob.O14, wide, pa0, pa1, pa2, pa3, va.W3, vb.W3, vc.W3, vd.W3, 2);
            o.O14 = new Tile2(t.C0, t.C1);
            ob.O14 = wide ? new Tile2(t.C2, t.C3) : ob.O14;
            t = NTile<TMma>(o.O15, ob.O15, wide, pa0, pa1, pa2, pa3, va.W3, vb.W3, vc.W3, vd.W3, 3);
            o.O15 = new Tile2(t.C0, t.C1);
            ob.O15 = wide ? new Tile2(t.C2, t.C3) : ob.O15;
        }

        return new DecodeOutputs { A = o, B = ob };
    }

    /// <summary>One output n-tile: B[k][n] = element <paramref name="u"/> of the V word of key k held by lane g = n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile4 NTile<TMma>(Tile2 o, Tile2 ob, bool wide, uint pa0, uint pa1, uint pa2, uint pa3, ulong va, ulong vb, ulong vc, ulong vd, int u)
        where TMma : struct, IHalfMma =>
        default(TMma).Mma(new Tile4(o.C0, o.C1, wide ? ob.C0 : 0f, wide ? ob.C1 : 0f), pa0, pa1, pa2, pa3, Pair<TMma>(va, vb, u), Pair<TMma>(vc, vd, u));

    /// <summary>Element <paramref name="u"/> of <paramref name="low"/> and of <paramref name="high"/> as one word (the
    /// 32-bit halves of a word are registers of their own; one byte permute picks the two elements).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Pair<TMma>(ulong low, ulong high, int u)
        where TMma : struct, IHalfMma =>
        u < 2
            ? default(TMma).Interleave((uint)low, (uint)high, u == 1)
            : default(TMma).Interleave((uint)(low >> 32), (uint)(high >> 32), u == 3);

    /// <summary>Writes the lane's columns (dims 32i + 8t + u and 32i + 8t + 4 + u of n-tile 4i + u) normalised, and the lse.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TMath>(DecodeOutput o, float m, float l, long at, int t, int dim, ArrayView<float> partialO, ArrayView<float> partialLse)
        where TMath : struct, IMergeMath
    {
        float inv = l > 0f ? 1f / l : 0f;
        long row = at * dim;
        Store(partialO, row, dim, (8 * t) + 0, o.O0, inv);
        Store(partialO, row, dim, (8 * t) + 1, o.O1, inv);
        Store(partialO, row, dim, (8 * t) + 2, o.O2, inv);
        Store(partialO, row, dim, (8 * t) + 3, o.O3, inv);
        Store(partialO, row, dim, 32 + (8 * t) + 0, o.O4, inv);
        Store(partialO, row, dim, 32 + (8 * t) + 1, o.O5, inv);
        Store(partialO, row, dim, 32 + (8 * t) + 2, o.O6, inv);
        Store(partialO, row, dim, 32 + (8 * t) + 3, o.O7, inv);
        Store(partialO, row, dim, 64 + (8 * t) + 0, o.O8, inv);
        Store(partialO, row, dim, 64 + (8 * t) + 1, o.O9, inv);
        Store(partialO, row, dim, 64 + (8 * t) + 2, o.O10, inv);
        Store(partialO, row, dim, 64 + (8 * t) + 3, o.O11, inv);
        Store(partialO, row, dim, 96 + (8 * t) + 0, o.O12, inv);
        Store(partialO, row, dim, 96 + (8 * t) + 1, o.O13, inv);
        Store(partialO, row, dim, 96 + (8 * t) + 2, o.O14, inv);
        Store(partialO, row, dim, 96 + (8 * t) + 3, o.O15, inv);
        if (t == 0)
        {
            partialLse[at] = l > 0f ? SoftmaxMerge.BlockLse<TMath>(m, l) : float.NegativeInfinity;
        }
    }

    /// <summary>Column 2t of the n-tile is dim <paramref name="x"/>, column 2t + 1 dim x + 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ArrayView<float> partialO, long row, int dim, int x, Tile2 c, float inv)
    {
        if (x < dim)
        {
            partialO[row + x] = c.C0 * inv;
        }

        if (x + 4 < dim)
        {
            partialO[row + x + 4] = c.C1 * inv;
        }
    }
}
