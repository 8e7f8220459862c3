using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The two GEMM-shaped launches of <see cref="LinearKernels"/> on tensor cores (f16 and bf16 rows, head dim a multiple
/// of 4 up to <see cref="LinearKernels.MaxDim"/>, staged by <see cref="LinearQuadStaging"/>): the same chunkwise form, launch grids and buffers (<see cref="LinearKernels.Scan"/>
/// is shared), with every product a TF32 mma (m16n8k8, float32 accumulation, <see cref="ITf32Mma"/>). Operands are
/// staged in shared memory already rounded to TF32 (10 mantissa bits: φ(k)·γ^i, the state and the scores are not
/// exact in 16-bit types; f16 and bf16 inputs are exact in TF32), so the only error over the float32 kernels is one
/// rounding of each operand, 2^-11 relative. 256 threads (8 warps) a block; shared rows padded so that a warp's
/// fragment reads hit 32 banks: rows read one per lane group (A operands) 4 floats apart, rows read one per lane
/// quad (B operands) 8 floats apart. Measured against the float32 kernels: bench/NOTES.md v9.
/// </summary>
internal static class LinearTensorKernels
{
    public const int Threads = 256;

    private const int Chunk = LinearKernels.Chunk;
    private const int Slice = LinearKernels.Slice;
    private const int Rows = LinearKernels.OutputRows;
    private const int MaxDim = LinearKernels.MaxDim;

    /// <summary>Stride of rows that lane group g reads (A operand, or B read transposed): banks 4g + t.</summary>
    private const int AStride = MaxDim + 4;

    /// <summary>Stride of rows that lane quad t reads (B operand): banks 8t + g.</summary>
    private const int BStride = MaxDim + 8;

    private const int PStride = Chunk + 4;

    /// <summary>
    /// Grid (chunks, state heads), <see cref="Threads"/> threads. states[chunk, stateHead] = (S, z) of the chunk's keys
    /// alone, key τ of n weighted γ^(n − 1 − τ): S = (φ(K)·w)ᵀ V, warp w computing rows 16w … 16w + 15 of S over all
    /// columns (two halves of 8 n-tiles), 32 keys a shared slice.
    /// </summary>
    public static void ChunkStates<TMma, TMath>(LinearParams p, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> decayLog2, ArrayView<float> states)
        where TMma : struct, ITf32Mma
        where TMath : struct, IMergeMath
    {
        var sk = SharedMemory.Allocate<float>(Slice * BStride);
        var sv = SharedMemory.Allocate<float>(Slice * BStride);
        int chunk = Grid.IdxX, sh = Grid.IdxY;
        int d = p.HeadDim;
        int kvh = p.PerHeadState != 0 ? sh / p.Group : sh;
        float log2g = decayLog2[p.PerHeadState != 0 ? sh : sh * p.Group];
        int first = chunk * Chunk;
        int n = p.Rows - first < Chunk ? p.Rows - first : Chunk;
        long outBase = ((long)chunk * p.StateHeads + sh) * p.StateFloats;
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        int i0 = 16 * Warp.WarpIdx;
        var left = default(Tiles8);
        var right = default(Tiles8);
        float z = 0f;
        for (int t0 = 0; t0 < n; t0 += Slice)
        {
            int count = n - t0 < Slice ? n - t0 : Slice;
            Group.Barrier();
            LinearQuadStaging.Rows<TMath>(sk, BStride, k, p, first + t0, count, p.KvHeads, kvh, phi: true, last: n - 1 - t0, log2g);
            LinearQuadStaging.Rows<TMath>(sv, BStride, v, p, first + t0, count, p.KvHeads, kvh, phi: false, last: 0, 0f);
            Group.Barrier();
            if (i0 < d)
            {
                for (int k0 = 0; k0 < Slice; k0 += 8)
                {
                    // A[i][τ] = K[τ][i]: lane (g, t) reads keys k0 + t and k0 + t + 4 at dims i0 + g and i0 + g + 8.
                    int a = ((k0 + t) * BStride) + i0 + g;
                    uint a0 = Tf32.Bits(sk[a]), a1 = Tf32.Bits(sk[a + 8]), a2 = Tf32.Bits(sk[a + (4 * BStride)]), a3 = Tf32.Bits(sk[a + (4 * BStride) + 8]);
                    int b = ((k0 + t) * BStride) + g;
                    left = MmaRow<TMma>(left, a0, a1, a2, a3, sv, b);
                    if (d > 64)
                    {
                        right = MmaRow<TMma>(right, a0, a1, a2, a3, sv, b + 64);
                    }
                }
            }

            if (Group.IdxX < d)
            {
                for (int tau = 0; tau < count; tau++)
                {
                    z += sk[(tau * BStride) + Group.IdxX];
                }
            }
        }

        if (i0 < d)
        {
            StoreRows(states, outBase, d, i0 + g, t, 0, left);
            StoreRows(states, outBase, d, i0 + g, t, 64, right);
        }

        if (Group.IdxX < d)
        {
            states[outBase + ((long)d * d) + Group.IdxX] = z;
        }
    }

    /// <summary>
    /// Grid (chunks · <see cref="Chunk"/> / <see cref="Rows"/>, query heads), <see cref="Threads"/> threads: o of
    /// <see cref="Rows"/> rows of one head, as <see cref="LinearKernels.Output"/> defines it. Warp w holds rows
    /// 16·(w % 2) … + 15 and columns 32·(w / 2) … + 31 of o (4 n-tiles): first φ(Q)·S of the state before the chunk (a
    /// slice of 32 state rows at a time), scaled once by γ^(r+1); then, a slice of 32 of the chunk's keys at a time, the
    /// scores P = φ(Q)·φ(K)ᵀ (warp w: rows as above, keys 8·(w / 2) … + 7), masked and decayed into shared memory, and
    /// P·V.
    /// </summary>
    public static void Output<TMma, TMath>(LinearParams p, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> decayLog2,
        ArrayView<float> states, ArrayView<float> o)
        where TMma : struct, ITf32Mma
        where TMath : struct, IMergeMath
    {
        var sq = SharedMemory.Allocate<float>(Rows * AStride);
        var buffer = SharedMemory.Allocate<float>(Slice * BStride);
        var sp = SharedMemory.Allocate<float>(Rows * PStride);
        var sz = SharedMemory.Allocate<float>(MaxDim);
        var den = SharedMemory.Allocate<float>(Rows);
        int blocksPerChunk = Chunk / Rows;
        int chunk = Grid.IdxX / blocksPerChunk, part = Grid.IdxX % blocksPerChunk, h = Grid.IdxY;
        int d = p.HeadDim;
        int kvh = h / p.Group, sh = p.PerHeadState != 0 ? h : kvh;
        float log2g = decayLog2[h];
        int chunkFirst = chunk * Chunk, first = chunkFirst + (part * Rows);
        int rows = p.Rows - first < Rows ? p.Rows - first : Rows;
        if (rows <= 0)
        {
            return;
        }

        bool causal = p.Causal != 0;
        int keys = causal ? (part * Rows) + rows : 0;
        long stateBase = ((causal ? (long)chunk * p.StateHeads : 0) + sh) * p.StateFloats;
        int warp = Warp.WarpIdx, lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        int r0 = 16 * (warp & 1), j0 = 32 * (warp >> 1);
        var m = default(TMma);

        LinearQuadStaging.Rows<TMath>(sq, AStride, q, p, first, rows, p.Heads, h, phi: true, last: 0, 0f);
        for (int i = Group.IdxX; i < MaxDim; i += Group.DimX)
        {
            sz[i] = i < d ? states[stateBase + ((long)d * d) + i] : 0f;
        }

        Group.Barrier();
        {
            // The state's share of the denominator, decayed to the row as the numerator is below: 8 lanes a row.
            int r = Group.IdxX >> 3;
            float s = 0f;
            for (int i = Group.IdxX & 7; i < d; i += 8)
            {
                s += sq[(r * AStride) + i] * sz[i];
            }

            s = SumOf8(s);
            if ((Group.IdxX & 7) == 0)
            {
                den[r] = causal ? s * default(TMath).Exp2(((part * Rows) + r + 1) * log2g) : s;
            }
        }

        var acc = default(Tiles4);
        bool columns = j0 < d;
        for (int i0 = 0; i0 < d; i0 += Slice)
        {
            int count = d - i0 < Slice ? d - i0 : Slice;
            Group.Barrier();
            LinearQuadStaging.State(buffer, BStride, states, stateBase, i0, count, d);
            Group.Barrier();
            if (columns)
            {
                for (int k0 = 0; k0 < count; k0 += 8)
                {
                    int a = ((r0 + g) * AStride) + i0 + k0 + t;
                    acc = MmaRow4<TMma>(acc, Tf32.Bits(sq[a]), Tf32.Bits(sq[a + (8 * AStride)]), Tf32.Bits(sq[a + 4]), Tf32.Bits(sq[a + (8 * AStride) + 4]),
                        buffer, ((k0 + t) * BStride) + j0 + g);
                }
            }
        }

        if (causal)
        {
            float top = default(TMath).Exp2(((part * Rows) + r0 + g + 1) * log2g);
            float bottom = top * default(TMath).Exp2(8 * log2g);
            acc = Scale(acc, top, bottom);
        }

        int n0 = 8 * (warp >> 1);
        for (int s0 = 0; s0 < keys; s0 += Slice)
        {
            int count = keys - s0 < Slice ? keys - s0 : Slice;
            Group.Barrier();
            LinearQuadStaging.Rows<TMath>(buffer, AStride, k, p, chunkFirst + s0, count, p.KvHeads, kvh, phi: true, last: 0, 0f);
            Group.Barrier();
            var x = default(Tile4);
            for (int k0 = 0; k0 < d; k0 += 8)
            {
                // B[i][τ] = φ(K)[τ][i]: lane (g, t) reads key n0 + g at dims k0 + t and k0 + t + 4.
                int a = ((r0 + g) * AStride) + k0 + t, b = ((n0 + g) * AStride) + k0 + t;
                x = m.Mma(x, Tf32.Bits(sq[a]), Tf32.Bits(sq[a + (8 * AStride)]), Tf32.Bits(sq[a + 4]), Tf32.Bits(sq[a + (8 * AStride) + 4]),
                    Tf32.Bits(buffer[b]), Tf32.Bits(buffer[b + 4]));
            }

            int row = (part * Rows) + r0 + g, key = s0 + n0 + (2 * t);
            int at = ((r0 + g) * PStride) + key;
            sp[at] = Score<TMath>(x.C0, row, key, log2g);
            sp[at + 1] = Score<TMath>(x.C1, row, key + 1, log2g);
            sp[at + (8 * PStride)] = Score<TMath>(x.C2, row + 8, key, log2g);
            sp[at + (8 * PStride) + 1] = Score<TMath>(x.C3, row + 8, key + 1, log2g);
            Group.Barrier();
            LinearQuadStaging.Rows<TMath>(buffer, BStride, v, p, chunkFirst + s0, count, p.KvHeads, kvh, phi: false, last: 0, 0f);
            Group.Barrier();
            if (columns)
            {
                for (int k0 = 0; k0 < Slice; k0 += 8)
                {
                    int a = ((r0 + g) * PStride) + s0 + k0 + t;
                    acc = MmaRow4<TMma>(acc, Tf32.Bits(sp[a]), Tf32.Bits(sp[a + (8 * PStride)]), Tf32.Bits(sp[a + 4]), Tf32.Bits(sp[a + (8 * PStride) + 4]),
                        buffer, ((k0 + t) * BStride) + j0 + g);
                }
            }
        }

        Group.Barrier();
        if (keys > 0)
        {
            int r = Group.IdxX >> 3;
            float s = 0f;
            for (int key = Group.IdxX & 7; key < keys; key += 8)
            {
                s += sp[(r * PStride) + key];
            }

            s = SumOf8(s);
            if ((Group.IdxX & 7) == 0)
            {
                den[r] += s;
            }
        }

        Group.Barrier();
        if (columns)
        {
            bool norm = p.Normalize != 0;
            float topScale = norm ? 1f / den[r0 + g] : 1f, bottomScale = norm ? 1f / den[r0 + g + 8] : 1f;
            long oBase = ((long)(p.RowOffset + first) * p.Heads + h) * d;
            long rowStride = (long)p.Heads * d;
            int c = j0 + (2 * t);
            PutOut(o, oBase, rowStride, r0 + g, rows, c, d, acc.T0.C0 * topScale, acc.T0.C1 * topScale);
            PutOut(o, oBase, rowStride, r0 + g + 8, rows, c, d, acc.T0.C2 * bottomScale, acc.T0.C3 * bottomScale);
            PutOut(o, oBase, rowStride, r0 + g, rows, c + 8, d, acc.T1.C0 * topScale, acc.T1.C1 * topScale);
            PutOut(o, oBase, rowStride, r0 + g + 8, rows, c + 8, d, acc.T1.C2 * bottomScale, acc.T1.C3 * bottomScale);
            PutOut(o, oBase, rowStride, r0 + g, rows, c + 16, d, acc.T2.C0 * topScale, acc.T2.C1 * topScale);
            PutOut(o, oBase, rowStride, r0 + g + 8, rows, c + 16, d, acc.T2.C2 * bottomScale, acc.T2.C3 * bottomScale);
            PutOut(o, oBase, rowStride, r0 + g, rows, c + 24, d, acc.T3.C0 * topScale, acc.T3.C1 * topScale);
            PutOut(o, oBase, rowStride, r0 + g + 8, rows, c + 24, d, acc.T3.C2 * bottomScale, acc.T3.C3 * bottomScale);
        }
    }

    /// <summary>A causal, decayed score rounded to TF32 (an A operand next): γ^(row − key) · x for a key at or before the row, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Score<TMath>(float x, int row, int key, float log2g)
        where TMath : struct, IMergeMath =>
        key <= row ? Tf32.Round(x * default(TMath).Exp2((row - key) * log2g)) : 0f;

    /// <summary>The sum over the 8 consecutive lanes of an aligned group (every lane gets it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SumOf8(float s)
    {
        s += Warp.ShuffleXor(s, 1);
        s += Warp.ShuffleXor(s, 2);
        return s + Warp.ShuffleXor(s, 4);
    }

    /// <summary>Eight n-tiles (64 columns from <paramref name="b"/>) times one A fragment: two <see cref="MmaRow4"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tiles8 MmaRow<TMma>(Tiles8 x, uint a0, uint a1, uint a2, uint a3, ArrayView<float> s, int b)
        where TMma : struct, ITf32Mma
    {
        x.Left = MmaRow4<TMma>(x.Left, a0, a1, a2, a3, s, b);
        x.Right = MmaRow4<TMma>(x.Right, a0, a1, a2, a3, s, b + 32);
        return x;
    }

    /// <summary>Four n-tiles (32 columns) times one A fragment.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tiles4 MmaRow4<TMma>(Tiles4 x, uint a0, uint a1, uint a2, uint a3, ArrayView<float> s, int b)
        where TMma : struct, ITf32Mma
    {
        var m = default(TMma);
        const int Hi = 4 * BStride;
        x.T0 = m.Mma(x.T0, a0, a1, a2, a3, Tf32.Bits(s[b]), Tf32.Bits(s[b + Hi]));
        x.T1 = m.Mma(x.T1, a0, a1, a2, a3, Tf32.Bits(s[b + 8]), Tf32.Bits(s[b + Hi + 8]));
        x.T2 = m.Mma(x.T2, a0, a1, a2, a3, Tf32.Bits(s[b + 16]), Tf32.Bits(s[b + Hi + 16]));
        x.T3 = m.Mma(x.T3, a0, a1, a2, a3, Tf32.Bits(s[b + 24]), Tf32.Bits(s[b + Hi + 24]));
        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Tiles4 Scale(Tiles4 x, float top, float bottom)
    {
        x.T0 = new Tile4(x.T0.C0 * top, x.T0.C1 * top, x.T0.C2 * bottom, x.T0.C3 * bottom);
        x.T1 = new Tile4(x.T1.C0 * top, x.T1.C1 * top, x.T1.C2 * bottom, x.T1.C3 * bottom);
        x.T2 = new Tile4(x.T2.C0 * top, x.T2.C1 * top, x.T2.C2 * bottom, x.T2.C3 * bottom);
        x.T3 = new Tile4(x.T3.C0 * top, x.T3.C1 * top, x.T3.C2 * bottom, x.T3.C3 * bottom);
        return x;
    }

    /// <summary>Rows i and i + 8 of eight n-tiles of S from column <paramref name="j0"/>; entries past the head dim dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows(ArrayView<float> s, long b, int d, int i, int t, int j0, Tiles8 x)
    {
        StoreRows4(s, b, d, i, j0 + (2 * t), x.Left);
        StoreRows4(s, b, d, i, j0 + 32 + (2 * t), x.Right);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRows4(ArrayView<float> s, long b, int d, int i, int c, Tiles4 x)
    {
        PutState(s, b, d, i, c, x.T0);
        PutState(s, b, d, i, c + 8, x.T1);
        PutState(s, b, d, i, c + 16, x.T2);
        PutState(s, b, d, i, c + 24, x.T3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutState(ArrayView<float> s, long b, int d, int i, int j, Tile4 x)
    {
        Put(s, b + ((long)i * d), j, d, i < d, x.C0, x.C1);
        Put(s, b + ((long)(i + 8) * d), j, d, i + 8 < d, x.C2, x.C3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutOut(ArrayView<float> o, long b, long rowStride, int r, int rows, int j, int d, float x0, float x1) =>
        Put(o, b + (r * rowStride), j, d, r < rows, x0, x1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ArrayView<float> s, long row, int j, int d, bool live, float x0, float x1)
    {
        if (live && j < d)
        {
            s[row + j] = x0;
        }

        if (live && j + 1 < d)
        {
            s[row + j + 1] = x1;
        }
    }
}
