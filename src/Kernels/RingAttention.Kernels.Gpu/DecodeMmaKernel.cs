using System.Runtime.CompilerServices;
using ILGPU;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The split-K decode kernel on tensor cores, for 16-bit K/V with head dims a multiple of 16 up to 128 and at most
/// <see cref="MaxVectors"/> query vectors: the chunk table, partial buffers and merge of <see cref="DecodeKernel"/>, but
/// each warp of a group computes S = Q·Kᵀ and O += P·V as m16n8k16 mma for a tile of <see cref="VectorsPerWarp"/> query
/// vectors (rows 0-7 of A, rows 8-15 zero), 16 keys a turn; the warps of a group (one per tile) walk the same chunk, so
/// their K/V loads after the first come from L1. <see cref="DecodeKernel"/> spends ~107 warp
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

    /// <summary>Most query vectors of a launch (rows x group size): eight warps of a group (n = 16 rows at GQA 4).</summary>
    public const int MaxVectors = 64;

    /// <summary>Warps of a group for <paramref name="vectors"/> query vectors.</summary>
    public static int Warps(int vectors) => (vectors + VectorsPerWarp - 1) / VectorsPerWarp;

    /// <summary>Whether a launch can run here: 16-bit elements, head dims in whole k-tiles up to 128, at most
    /// <see cref="MaxVectors"/> query vectors, 32-lane warps.</summary>
    public static bool Serves(ElementType type, int vectors, int headDim, int warpSize) =>
        type is ElementType.BF16 or ElementType.F16 && vectors <= MaxVectors && headDim % 16 == 0 &&
        headDim <= MaxHeadDim && warpSize == 32;

    /// <summary>Grid x = chunk, y = kv head; group = <see cref="Warps"/> warps, warp w taking vectors 8w .. 8w + 7. The
    /// head dim is a type argument (<see cref="IDecodeHeadDim"/>): each dim compiles to its own kernel whose k-tile and
    /// n-tile guards fold away (as a run-time value they were ~110 branches a turn, ncu: 569 warp instructions a turn).</summary>
    public static void Split<TMma, TRead, TMath, TDim>(
        FlashParams p,
        ArrayView<ulong> q,
        ArrayView<long> chunks,
        ArrayView<float> partialO,
        ArrayView<float> partialLse)
        where TMma : struct, IHalfMma
        where TRead : struct, IWordRead
        where TMath : struct, IMergeMath
        where TDim : struct, IDecodeHeadDim
    {
        int chunk = Grid.IdxX;
        int kvh = Grid.IdxY;
        int lane = Group.IdxX & 31;
        int vector = ((Group.IdxX >> 5) * VectorsPerWarp) + (lane >> 2);
        int g = lane >> 2;
        int t = lane & 3;
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

        // Lane (g, t) holds its vector's row g of A (vectors past the launch are zero rows, their results unused).
        bool mine = vector < vectors;
        int row = vector / p.Group;
        var qw = default(Words8);
        if (mine)
        {
            long at = ((((long)(p.QRowOffset + row) * p.Heads) + (kvh * p.Group) + (vector % p.Group)) * dim) + (4 * t);
            qw = LoadQ(q, at, dim);
        }

        int qPos = p.QPos0 + row;
        // A chunk every key of which every vector sees (decode against the past, no window edge) skips the mask tests.
        bool full = p.QPos0 - (pos0 + rows - 1) >= p.DMin && p.QPos0 + ((vectors - 1) / p.Group) - pos0 <= p.DMax;
        float m = float.NegativeInfinity;
        float l = 0f;
        var o = default(DecodeOutput);
        // Every load of a turn is issued before its first use; the loop bound is the same in every lane (mma needs the
        // whole warp), lanes past the chunk's end load nothing and see -inf scores.
        for (int kb = 0; kb < rows; kb += KeysPerTurn)
        {
            int k0 = kb + g;
            int v0 = kb + (2 * t);
            // Every turn of a chunk but its last is whole: its loads need no row guards (each guard was a branch).
            var turn = kb + KeysPerTurn <= rows
                ? LoadTurn<TRead>(kAddr, vAddr, rowBytes, kLane, vLane, k0, v0, int.MaxValue, dim, g)
                : LoadTurn<TRead>(kAddr, vAddr, rowBytes, kLane, vLane, k0, v0, rows, dim, g);
            var key0 = turn.K0;
            var key1 = turn.K1;
            var s0 = Scores<TMma>(qw, key0, dim);
            var s1 = Scores<TMma>(qw, key1, dim);
            // Lane (g, t) now has its vector's scores of keys 2t, 2t + 1 (s0) and 2t + 8, 2t + 9 (s1) of the turn.
            // A whole turn of a chunk every key of which is visible (most turns of a decode) needs no tests at all. Rows of
            // vectors past the launch are not masked either: their q is zero, their scores finite, their results unused,
            // and a row's softmax never mixes with another's.
            bool plain = full && kb + KeysPerTurn <= rows;
            float x0 = plain ? s0.C0 * p.ScaleLog2 : Logit(p, s0.C0, full, qPos, pos0, v0, rows);
            float x1 = plain ? s0.C1 * p.ScaleLog2 : Logit(p, s0.C1, full, qPos, pos0, v0 + 1, rows);
            float x2 = plain ? s1.C0 * p.ScaleLog2 : Logit(p, s1.C0, full, qPos, pos0, v0 + 8, rows);
            float x3 = plain ? s1.C1 * p.ScaleLog2 : Logit(p, s1.C1, full, qPos, pos0, v0 + 9, rows);
            float top = Max(Max(x0, x1), Max(x2, x3));
            top = Max(top, Warp.ShuffleXor(top, 1));
            top = Max(top, Warp.ShuffleXor(top, 2));
            float next = Max(m, top);
            // While every key so far is masked the maximum is -inf: subtract 0 instead, so that every weight is exp2(-inf) = 0.
            float shift = next == float.NegativeInfinity ? 0f : next;
            float alpha = default(TMath).Exp2(m - shift);
            float e0 = default(TMath).Exp2(x0 - shift);
            float e1 = default(TMath).Exp2(x1 - shift);
            float e2 = default(TMath).Exp2(x2 - shift);
            float e3 = default(TMath).Exp2(x3 - shift);
            l = (l * alpha) + ((e0 + e1) + (e2 + e3));
            m = next;
            uint pa0 = default(TMma).Pack(e0, e1);
            uint pa2 = default(TMma).Pack(e2, e3);
            o = Accumulate<TMma>(o.Scaled(alpha), pa0, pa2, turn.Va, turn.Vb, turn.Vc, turn.Vd, dim);
        }

        l += Warp.ShuffleXor(l, 1);
        l += Warp.ShuffleXor(l, 2);
        if (mine)
        {
            Finish<TMath>(o, m, l, DecodeKernel.PartialIndex(chunk, kvh, vector, vectors, p.KvHeads), t, dim, partialO, partialLse);
        }
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

    /// <summary>One turn's K rows (keys k0, k0 + 8) and V rows (v0, v0 + 1, v0 + 8, v0 + 9), zero past <paramref name="limit"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TurnLoads LoadTurn<TRead>(long kAddr, long vAddr, long rowBytes, long kLane, long vLane, int k0, int v0, int limit, int dim, int g)
        where TRead : struct, IWordRead => new()
        {
            K0 = k0 < limit ? ReadK<TRead>(kAddr + (k0 * rowBytes) + kLane, dim) : default,
            K1 = k0 + 8 < limit ? ReadK<TRead>(kAddr + ((k0 + 8) * rowBytes) + kLane, dim) : default,
            Va = v0 < limit ? ReadV<TRead>(vAddr + (v0 * rowBytes) + vLane, dim, g) : default,
            Vb = v0 + 1 < limit ? ReadV<TRead>(vAddr + ((v0 + 1) * rowBytes) + vLane, dim, g) : default,
            Vc = v0 + 8 < limit ? ReadV<TRead>(vAddr + ((v0 + 8) * rowBytes) + vLane, dim, g) : default,
            Vd = v0 + 9 < limit ? ReadV<TRead>(vAddr + ((v0 + 9) * rowBytes) + vLane, dim, g) : default,
        };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Words8 LoadQ(ArrayView<ulong> q, long at, int dim)
    {
        var w = default(Words8);
        w.W0 = q[at / 4];
        w.W1 = dim > 16 ? q[(at + 16) / 4] : 0;
        w.W2 = dim > 32 ? q[(at + 32) / 4] : 0;
        w.W3 = dim > 48 ? q[(at + 48) / 4] : 0;
        w.W4 = dim > 64 ? q[(at + 64) / 4] : 0;
        w.W5 = dim > 80 ? q[(at + 80) / 4] : 0;
        w.W6 = dim > 96 ? q[(at + 96) / 4] : 0;
        w.W7 = dim > 112 ? q[(at + 112) / 4] : 0;
        return w;
    }

    /// <summary>The lane's word of each k-tile of a K row (32 bytes apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Words8 ReadK<TRead>(long address, int dim)
        where TRead : struct, IWordRead
    {
        var w = default(Words8);
        w.W0 = default(TRead).Read(address);
        w.W1 = dim > 16 ? default(TRead).Read(address + 32) : 0;
        w.W2 = dim > 32 ? default(TRead).Read(address + 64) : 0;
        w.W3 = dim > 48 ? default(TRead).Read(address + 96) : 0;
        w.W4 = dim > 64 ? default(TRead).Read(address + 128) : 0;
        w.W5 = dim > 80 ? default(TRead).Read(address + 160) : 0;
        w.W6 = dim > 96 ? default(TRead).Read(address + 192) : 0;
        w.W7 = dim > 112 ? default(TRead).Read(address + 224) : 0;
        return w;
    }

    /// <summary>The lane's words of a V row: dims 32i + 4g .. +3 (64 bytes apart), zero past the head dim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Words4 ReadV<TRead>(long address, int dim, int g)
        where TRead : struct, IWordRead
    {
        var w = default(Words4);
        int x = 4 * g;
        w.W0 = x < dim ? default(TRead).Read(address) : 0;
        w.W1 = x + 32 < dim ? default(TRead).Read(address + 64) : 0;
        w.W2 = x + 64 < dim ? default(TRead).Read(address + 128) : 0;
        w.W3 = x + 96 < dim ? default(TRead).Read(address + 192) : 0;
        return w;
    }

    /// <summary>S of the 8 keys whose rows the lanes' g hold, against the query vectors (rows 0-7 of A).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile4 Scores<TMma>(Words8 q, Words8 k, int dim)
        where TMma : struct, IHalfMma
    {
        var s = KTile<TMma>(default, q.W0, k.W0);
        // The tile guards depend on the head dim only: the same in every lane, as mma needs.
        if (dim > 16)
        {
            s = KTile<TMma>(s, q.W1, k.W1);
        }

        if (dim > 32)
        {
            s = KTile<TMma>(s, q.W2, k.W2);
        }

        if (dim > 48)
        {
            s = KTile<TMma>(s, q.W3, k.W3);
        }

        if (dim > 64)
        {
            s = KTile<TMma>(s, q.W4, k.W4);
        }

        if (dim > 80)
        {
            s = KTile<TMma>(s, q.W5, k.W5);
        }

        if (dim > 96)
        {
            s = KTile<TMma>(s, q.W6, k.W6);
        }

        if (dim > 112)
        {
            s = KTile<TMma>(s, q.W7, k.W7);
        }

        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile4 KTile<TMma>(Tile4 s, ulong q, ulong k)
        where TMma : struct, IHalfMma =>
        default(TMma).Mma(s, (uint)q, 0u, (uint)(q >> 32), 0u, (uint)k, (uint)(k >> 32));

    /// <summary>O += P·V over the output n-tiles that hold dims (groups of 32 dims: word i of the V rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeOutput Accumulate<TMma>(DecodeOutput o, uint pa0, uint pa2, Words4 va, Words4 vb, Words4 vc, Words4 vd, int dim)
        where TMma : struct, IHalfMma
    {
        o.O0 = NTile<TMma>(o.O0, pa0, pa2, va.W0, vb.W0, vc.W0, vd.W0, 0);
        o.O1 = NTile<TMma>(o.O1, pa0, pa2, va.W0, vb.W0, vc.W0, vd.W0, 1);
        o.O2 = NTile<TMma>(o.O2, pa0, pa2, va.W0, vb.W0, vc.W0, vd.W0, 2);
        o.O3 = NTile<TMma>(o.O3, pa0, pa2, va.W0, vb.W0, vc.W0, vd.W0, 3);
        if (dim > 32)
        {
            o.O4 = NTile<TMma>(o.O4, pa0, pa2, va.W1, vb.W1, vc.W1, vd.W1, 0);
            o.O5 = NTile<TMma>(o.O5, pa0, pa2, va.W1, vb.W1, vc.W1, vd.W1, 1);
            o.O6 = NTile<TMma>(o.O6, pa0, pa2, va.W1, vb.W1, vc.W1, vd.W1, 2);
            o.O7 = NTile<TMma>(o.O7, pa0, pa2, va.W1, vb.W1, vc.W1, vd.W1, 3);
        }

        if (dim > 64)
        {
            o.O8 = NTile<TMma>(o.O8, pa0, pa2, va.W2, vb.W2, vc.W2, vd.W2, 0);
            o.O9 = NTile<TMma>(o.O9, pa0, pa2, va.W2, vb.W2, vc.W2, vd.W2, 1);
            o.O10 = NTile<TMma>(o.O10, pa0, pa2, va.W2, vb.W2, vc.W2, vd.W2, 2);
            o.O11 = NTile<TMma>(o.O11, pa0, pa2, va.W2, vb.W2, vc.W2, vd.W2, 3);
        }

        if (dim > 96)
        {
            o.O12 = NTile<TMma>(o.O12, pa0, pa2, va.W3, vb.W3, vc.W3, vd.W3, 0);
            o.O13 = NTile<TMma>(o.O13, pa0, pa2, va.W3, vb.W3, vc.W3, vd.W3, 1);
            o.O14 = NTile<TMma>(o.O14, pa0, pa2, va.W3, vb.W3, vc.W3, vd.W3, 2);
            o.O15 = NTile<TMma>(o.O15, pa0, pa2, va.W3, vb.W3, vc.W3, vd.W3, 3);
        }

        return o;
    }

    /// <summary>One output n-tile: B[k][n] = element <paramref name="u"/> of the V word of key k held by lane g = n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tile2 NTile<TMma>(Tile2 o, uint pa0, uint pa2, ulong va, ulong vb, ulong vc, ulong vd, int u)
        where TMma : struct, IHalfMma
    {
        var r = default(TMma).Mma(new Tile4(o.C0, o.C1, 0f, 0f), pa0, 0u, pa2, 0u, Pair<TMma>(va, vb, u), Pair<TMma>(vc, vd, u));
        return new Tile2(r.C0, r.C1);
    }

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
