using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Linear attention on an ILGPU accelerator, the chunkwise form in three launches per piece of a span (head dim ≤
/// <see cref="MaxDim"/>): <see cref="ChunkStates"/> (each chunk's own S and z), <see cref="Scan"/> (the state before each
/// chunk, from the state before the piece; the state after it), <see cref="Output"/> (each row's o from its chunk's
/// state and the causal products inside the chunk). float32 throughout, register tiles over shared-memory slices
/// (GEMM-shaped work on CUDA cores; NOTES v8). Work items loop over the block's threads, so the kernels run with any
/// block size (ILGPU's CPU accelerator has 16 threads a block in CI).
/// </summary>
internal static class LinearKernels
{
    /// <summary>Tokens a chunk state covers.</summary>
    public const int Chunk = 64;

    /// <summary>Query rows of an output block (a chunk has <see cref="Chunk"/> / <see cref="OutputRows"/> of them).</summary>
    public const int OutputRows = 32;

    /// <summary>Rows of a shared slice (keys, values or state rows).</summary>
    public const int Slice = 32;

    public const int MaxDim = 128;

    /// <summary>Work items of an output block: 4 groups of 8 rows × 32 column lanes (4 columns each, 32 apart).</summary>
    public const int OutputItems = (OutputRows / 8) * 32;

    /// <summary>Row stride of shared slices: one float of padding, so a warp reading a column hits 32 banks.</summary>
    private const int Stride = MaxDim + 1;

    private const float Log2E = 1.44269504088896341f;

    /// <summary>
    /// Grid (chunks, state heads); block any size. states[chunk, stateHead] = (S, z) of the chunk's keys alone, key t of
    /// n weighted γ^(n − 1 − t). A work item holds an 8 × 4 tile of S: rows 8·(item / 32) + r, columns item % 32 + 32·c,
    /// so a warp reads one k value per row (broadcast) and 32 consecutive v values: 32 FMAs per 12 shared loads.
    /// </summary>
    public static void ChunkStates(LinearParams p, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> decayLog2, ArrayView<float> states)
    {
        var sk = SharedMemory.Allocate<float>(Slice * Stride);
        var sv = SharedMemory.Allocate<float>(Slice * Stride);
        int chunk = Grid.IdxX, sh = Grid.IdxY;
        int d = p.HeadDim;
        int kvh = p.PerHeadState != 0 ? sh / p.Group : sh;
        float log2g = decayLog2[p.PerHeadState != 0 ? sh : sh * p.Group];
        int first = chunk * Chunk;
        int n = p.Rows - first < Chunk ? p.Rows - first : Chunk;
        int items = ((d + 7) / 8) * 32;
        long outBase = ((long)chunk * p.StateHeads + sh) * p.StateFloats;
        for (int pass = 0; pass * Group.DimX < items; pass++)
        {
            int item = (pass * Group.DimX) + Group.IdxX;
            int i0 = (item / 32) * 8, jj = item % 32;
            var top = default(DecodeSlots);
            var bottom = default(DecodeSlots);
            var z = default(DecodeSlots);
            for (int t0 = 0; t0 < n; t0 += Slice)
            {
                int count = n - t0 < Slice ? n - t0 : Slice;
                Group.Barrier();
                for (int e = Group.IdxX; e < Slice * MaxDim; e += Group.DimX)
                {
                    int t = e / MaxDim, col = e % MaxDim;
                    long row = (long)(p.RowOffset + first + t0 + t) * p.KvHeads + kvh;
                    bool live = t < count && col < d;
                    float w = live ? SoftMath.Exp2((n - 1 - (t0 + t)) * log2g) : 0f;
                    sk[(t * Stride) + col] = live ? w * Phi(p.FeatureMap, PortableKernel.Load(k, p.DType, (row * d) + col)) : 0f;
                    sv[(t * Stride) + col] = live ? PortableKernel.Load(v, p.DType, (row * d) + col) : 0f;
                }

                Group.Barrier();
                if (item < items)
                {
                    for (int t = 0; t < count; t++)
                    {
                        int kb = (t * Stride) + i0, vb = (t * Stride) + jj;
                        float b0 = sv[vb], b1 = sv[vb + 32], b2 = sv[vb + 64], b3 = sv[vb + 96];
                        float a0 = sk[kb], a1 = sk[kb + 1], a2 = sk[kb + 2], a3 = sk[kb + 3];
                        float a4 = sk[kb + 4], a5 = sk[kb + 5], a6 = sk[kb + 6], a7 = sk[kb + 7];
                        top = Outer(top, a0, a1, a2, a3, b0, b1, b2, b3);
                        bottom = Outer(bottom, a4, a5, a6, a7, b0, b1, b2, b3);
                        z = Add8(z, a0, a1, a2, a3, a4, a5, a6, a7);
                    }
                }
            }

            if (item < items)
            {
                StoreTile(states, outBase, i0, jj, d, top);
                StoreTile(states, outBase, i0 + 4, jj, d, bottom);
                if (jj == 0)
                {
                    long zBase = outBase + ((long)d * d);
                    PutRow(states, zBase, i0, d, z.S0);
                    PutRow(states, zBase, i0 + 1, d, z.S1);
                    PutRow(states, zBase, i0 + 2, d, z.S2);
                    PutRow(states, zBase, i0 + 3, d, z.S3);
                    PutRow(states, zBase, i0 + 4, d, z.S4);
                    PutRow(states, zBase, i0 + 5, d, z.S5);
                    PutRow(states, zBase, i0 + 6, d, z.S6);
                    PutRow(states, zBase, i0 + 7, d, z.S7);
                }
            }
        }
    }

    /// <summary>
    /// Grid over (state head, element of S and z), one thread an element: walks the piece's chunks in order, writing the
    /// state before each chunk into <paramref name="prefix"/> (from <paramref name="carry"/>, the state before the
    /// piece) and leaving the state after the piece in <paramref name="carry"/>. Reads and writes are different buffers,
    /// so the loads of later chunks need not wait for the stores of earlier ones.
    /// </summary>
    public static void Scan(Index1D index, LinearParams p, ArrayView<float> decayLog2, ArrayView<float> states, ArrayView<float> prefix, ArrayView<float> carry)
    {
        int floats = p.StateFloats;
        int element = index;
        if (element >= p.StateHeads * floats)
        {
            return;
        }

        int sh = element / floats;
        float log2g = decayLog2[p.PerHeadState != 0 ? sh : sh * p.Group];
        float full = SoftMath.Exp2(Chunk * log2g);
        float running = carry[element];
        long stride = (long)p.StateHeads * floats;
        for (int c = 0; c < p.Chunks; c++)
        {
            int n = p.Rows - (c * Chunk) < Chunk ? p.Rows - (c * Chunk) : Chunk;
            long at = (c * stride) + element;
            float own = states[at];
            prefix[at] = running;
            running = ((n == Chunk ? full : SoftMath.Exp2(n * log2g)) * running) + own;
        }

        carry[element] = running;
    }

    /// <summary>
    /// Grid (chunks · <see cref="Chunk"/> / <see cref="OutputRows"/>, query heads); block any size. o of
    /// <see cref="OutputRows"/> rows of one head: causal, φ(q)ᵀ(γ^(r+1) S_chunk) plus the decayed products with the
    /// chunk's keys up to the row; not causal, φ(q)ᵀ S of the whole sequence (<paramref name="states"/> then holds that
    /// one state). Divided by the same sums over z when normalising. A work item holds an 8 × 4 tile of o (rows
    /// 8·(item / 32) + r, columns item % 32 + 32·c): 32 FMAs per 12 shared loads; keys, values and state rows pass
    /// through one shared slice.
    /// </summary>
    public static void Output(LinearParams p, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> decayLog2,
        ArrayView<float> states, ArrayView<float> o)
    {
        var sq = SharedMemory.Allocate<float>(OutputRows * Stride);
        var buffer = SharedMemory.Allocate<float>(Slice * Stride);
        var scores = SharedMemory.Allocate<float>(OutputRows * (Chunk + 1));
        var sz = SharedMemory.Allocate<float>(Slice);
        int blocksPerChunk = Chunk / OutputRows;
        int chunk = Grid.IdxX / blocksPerChunk, part = Grid.IdxX % blocksPerChunk, h = Grid.IdxY;
        int d = p.HeadDim;
        int kvh = h / p.Group, sh = p.PerHeadState != 0 ? h : kvh;
        float log2g = decayLog2[h];
        int chunkFirst = chunk * Chunk, first = chunkFirst + (part * OutputRows);
        int rows = p.Rows - first < OutputRows ? p.Rows - first : OutputRows;
        if (rows <= 0)
        {
            return;
        }

        // Keys of the chunk these rows see (causal): up to the last row, in slices of 32.
        int keys = p.Causal != 0 ? (part * OutputRows) + rows : 0;
        long stateBase = ((p.Causal != 0 ? (long)chunk * p.StateHeads : 0) + sh) * p.StateFloats;
        for (int e = Group.IdxX; e < OutputRows * MaxDim; e += Group.DimX)
        {
            int r = e / MaxDim, col = e % MaxDim;
            sq[(r * Stride) + col] = r < rows && col < d ? Phi(p.FeatureMap, PortableKernel.Load(q, p.DType, ((long)(p.RowOffset + first + r) * p.Heads + h) * d + col)) : 0f;
        }

        for (int pass = 0; pass * Group.DimX < OutputItems; pass++)
        {
            int item = (pass * Group.DimX) + Group.IdxX;
            int r0 = (item / 32) * 8, jj = item % 32;
            var top = default(DecodeSlots);
            var bottom = default(DecodeSlots);
            var den = default(DecodeSlots);

            // The products with the chunk's own keys: scores of the block's rows against each slice of keys, then × v.
            for (int s0 = 0; s0 < keys; s0 += Slice)
            {
                int count = keys - s0 < Slice ? keys - s0 : Slice;
                Group.Barrier();
                LoadRows(buffer, k, p, chunkFirst + s0, count, kvh, d, phi: true);
                Group.Barrier();
                // Four rows a thread (r, r + 8, r + 16, r + 24) against one key: each k value read once for four FMAs.
                for (int e = Group.IdxX; e < OutputRows / 4 * Slice; e += Group.DimX)
                {
                    int r = e / Slice, t = e % Slice, key = s0 + t;
                    float x0 = 0f, x1 = 0f, x2 = 0f, x3 = 0f;
                    if (t < count)
                    {
                        for (int i = 0; i < d; i++)
                        {
                            float b = buffer[(t * Stride) + i];
                            x0 += sq[(r * Stride) + i] * b;
                            x1 += sq[((r + 8) * Stride) + i] * b;
                            x2 += sq[((r + 16) * Stride) + i] * b;
                            x3 += sq[((r + 24) * Stride) + i] * b;
                        }
                    }

                    int row = (part * OutputRows) + r;
                    scores[(r * (Chunk + 1)) + key] = Score(x0, row, key, r < rows && t < count, log2g);
                    scores[((r + 8) * (Chunk + 1)) + key] = Score(x1, row + 8, key, r + 8 < rows && t < count, log2g);
                    scores[((r + 16) * (Chunk + 1)) + key] = Score(x2, row + 16, key, r + 16 < rows && t < count, log2g);
                    scores[((r + 24) * (Chunk + 1)) + key] = Score(x3, row + 24, key, r + 24 < rows && t < count, log2g);
                }

                Group.Barrier();
                LoadRows(buffer, v, p, chunkFirst + s0, count, kvh, d, phi: false);
                Group.Barrier();
                if (item < OutputItems)
                {
                    for (int t = 0; t < count; t++)
                    {
                        int vb = (t * Stride) + jj, sb = (r0 * (Chunk + 1)) + s0 + t;
                        const int Row = Chunk + 1;
                        float a0 = scores[sb], a1 = scores[sb + Row], a2 = scores[sb + (2 * Row)], a3 = scores[sb + (3 * Row)];
                        float a4 = scores[sb + (4 * Row)], a5 = scores[sb + (5 * Row)], a6 = scores[sb + (6 * Row)], a7 = scores[sb + (7 * Row)];
                        float b0 = buffer[vb], b1 = buffer[vb + 32], b2 = buffer[vb + 64], b3 = buffer[vb + 96];
                        top = Outer(top, a0, a1, a2, a3, b0, b1, b2, b3);
                        bottom = Outer(bottom, a4, a5, a6, a7, b0, b1, b2, b3);
                        den = Add8(den, a0, a1, a2, a3, a4, a5, a6, a7);
                    }
                }
            }

            // The state before the chunk, a slice of its rows at a time, reaches row r decayed γ^(r + 1) (not causal:
            // the total, undecayed).
            float g0 = p.Causal != 0 ? SoftMath.Exp2(((part * OutputRows) + r0 + 1) * log2g) : 1f;
            float step = p.Causal != 0 ? SoftMath.Exp2(log2g) : 1f;
            float g1 = g0 * step, g2 = g1 * step, g3 = g2 * step, g4 = g3 * step, g5 = g4 * step, g6 = g5 * step, g7 = g6 * step;
            for (int i0 = 0; i0 < d; i0 += Slice)
            {
                int count = d - i0 < Slice ? d - i0 : Slice;
                Group.Barrier();
                for (int e = Group.IdxX; e < Slice * MaxDim; e += Group.DimX)
                {
                    int i = e / MaxDim, col = e % MaxDim;
                    buffer[(i * Stride) + col] = i < count && col < d ? states[stateBase + ((long)(i0 + i) * d) + col] : 0f;
                }

                for (int i = Group.IdxX; i < Slice; i += Group.DimX)
                {
                    sz[i] = i < count ? states[stateBase + ((long)d * d) + i0 + i] : 0f;
                }

                Group.Barrier();
                if (item < OutputItems)
                {
                    for (int i = 0; i < count; i++)
                    {
                        int qb = (r0 * Stride) + i0 + i, vb = (i * Stride) + jj;
                        float a0 = g0 * sq[qb], a1 = g1 * sq[qb + Stride], a2 = g2 * sq[qb + (2 * Stride)], a3 = g3 * sq[qb + (3 * Stride)];
                        float a4 = g4 * sq[qb + (4 * Stride)], a5 = g5 * sq[qb + (5 * Stride)], a6 = g6 * sq[qb + (6 * Stride)], a7 = g7 * sq[qb + (7 * Stride)];
                        float b0 = buffer[vb], b1 = buffer[vb + 32], b2 = buffer[vb + 64], b3 = buffer[vb + 96];
                        top = Outer(top, a0, a1, a2, a3, b0, b1, b2, b3);
                        bottom = Outer(bottom, a4, a5, a6, a7, b0, b1, b2, b3);
                        float zi = sz[i];
                        den = Add8(den, a0 * zi, a1 * zi, a2 * zi, a3 * zi, a4 * zi, a5 * zi, a6 * zi, a7 * zi);
                    }
                }
            }

            if (item < OutputItems)
            {
                long oBase = ((long)(p.RowOffset + first) * p.Heads + h) * d;
                long rowStride = (long)p.Heads * d;
                bool norm = p.Normalize != 0;
                PutOut(o, oBase, rowStride, r0, rows, jj, d, top.S0, top.S1, top.S2, top.S3, norm ? 1f / den.S0 : 1f);
                PutOut(o, oBase, rowStride, r0 + 1, rows, jj, d, top.S4, top.S5, top.S6, top.S7, norm ? 1f / den.S1 : 1f);
                PutOut(o, oBase, rowStride, r0 + 2, rows, jj, d, top.S8, top.S9, top.S10, top.S11, norm ? 1f / den.S2 : 1f);
                PutOut(o, oBase, rowStride, r0 + 3, rows, jj, d, top.S12, top.S13, top.S14, top.S15, norm ? 1f / den.S3 : 1f);
                PutOut(o, oBase, rowStride, r0 + 4, rows, jj, d, bottom.S0, bottom.S1, bottom.S2, bottom.S3, norm ? 1f / den.S4 : 1f);
                PutOut(o, oBase, rowStride, r0 + 5, rows, jj, d, bottom.S4, bottom.S5, bottom.S6, bottom.S7, norm ? 1f / den.S5 : 1f);
                PutOut(o, oBase, rowStride, r0 + 6, rows, jj, d, bottom.S8, bottom.S9, bottom.S10, bottom.S11, norm ? 1f / den.S6 : 1f);
                PutOut(o, oBase, rowStride, r0 + 7, rows, jj, d, bottom.S12, bottom.S13, bottom.S14, bottom.S15, norm ? 1f / den.S7 : 1f);
            }
        }
    }

    /// <summary>Rows [first, first + count) of k or v (φ applied to k) of one kv head into a shared slice; the rest 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadRows(ArrayView<float> buffer, ArrayView<ushort> x, LinearParams p, int first, int count, int kvh, int d, bool phi)
    {
        for (int e = Group.IdxX; e < Slice * MaxDim; e += Group.DimX)
        {
            int t = e / MaxDim, col = e % MaxDim;
            float value = 0f;
            if (t < count && col < d)
            {
                value = PortableKernel.Load(x, p.DType, ((long)(p.RowOffset + first + t) * p.KvHeads + kvh) * d + col);
                value = phi ? Phi(p.FeatureMap, value) : value;
            }

            buffer[(t * Stride) + col] = value;
        }
    }

    /// <summary>A causal, decayed score: γ^(row − key) · x for a key at or before the row, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Score(float x, int row, int key, bool live, float log2g) =>
        live && key <= row ? x * SoftMath.Exp2((row - key) * log2g) : 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Phi(int map, float x) =>
        map == 0 ? (x > 0f ? x + 1f : SoftMath.Exp2(x * Log2E)) : map == 1 ? (x > 0f ? x : 0f) : x;

    /// <summary>acc + a bᵀ for a 4 × 4 tile (slot 4·r + c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeSlots Outer(DecodeSlots x, float a0, float a1, float a2, float a3, float b0, float b1, float b2, float b3) => new()
    {
        S0 = x.S0 + (a0 * b0), S1 = x.S1 + (a0 * b1), S2 = x.S2 + (a0 * b2), S3 = x.S3 + (a0 * b3),
        S4 = x.S4 + (a1 * b0), S5 = x.S5 + (a1 * b1), S6 = x.S6 + (a1 * b2), S7 = x.S7 + (a1 * b3),
        S8 = x.S8 + (a2 * b0), S9 = x.S9 + (a2 * b1), S10 = x.S10 + (a2 * b2), S11 = x.S11 + (a2 * b3),
        S12 = x.S12 + (a3 * b0), S13 = x.S13 + (a3 * b1), S14 = x.S14 + (a3 * b2), S15 = x.S15 + (a3 * b3),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeSlots Add8(DecodeSlots x, float a0, float a1, float a2, float a3, float a4, float a5, float a6, float a7)
    {
        x.S0 += a0;
        x.S1 += a1;
        x.S2 += a2;
        x.S3 += a3;
        x.S4 += a4;
        x.S5 += a5;
        x.S6 += a6;
        x.S7 += a7;
        return x;
    }

    /// <summary>A 4 × 4 tile of S (rows i0.., columns jj + 32·c) into a state's D × D block; rows and columns past D dropped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreTile(ArrayView<float> s, long b, int i0, int jj, int d, DecodeSlots x)
    {
        PutRow4(s, b, i0, jj, d, x.S0, x.S1, x.S2, x.S3);
        PutRow4(s, b, i0 + 1, jj, d, x.S4, x.S5, x.S6, x.S7);
        PutRow4(s, b, i0 + 2, jj, d, x.S8, x.S9, x.S10, x.S11);
        PutRow4(s, b, i0 + 3, jj, d, x.S12, x.S13, x.S14, x.S15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutRow4(ArrayView<float> s, long b, int i, int jj, int d, float c0, float c1, float c2, float c3)
    {
        if (i >= d)
        {
            return;
        }

        long row = b + ((long)i * d);
        PutRow(s, row, jj, d, c0);
        PutRow(s, row, jj + 32, d, c1);
        PutRow(s, row, jj + 64, d, c2);
        PutRow(s, row, jj + 96, d, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutRow(ArrayView<float> s, long b, int col, int d, float value)
    {
        if (col < d)
        {
            s[b + col] = value;
        }
    }

    /// <summary>Row r (when below <paramref name="rows"/>) of the block's o, times <paramref name="scale"/>: columns jj + 32·c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutOut(ArrayView<float> o, long b, long rowStride, int r, int rows, int jj, int d, float c0, float c1, float c2, float c3, float scale)
    {
        if (r >= rows)
        {
            return;
        }

        long row = b + (r * rowStride);
        PutRow(o, row, jj, d, c0 * scale);
        PutRow(o, row, jj + 32, d, c1 * scale);
        PutRow(o, row, jj + 64, d, c2 * scale);
        PutRow(o, row, jj + 96, d, c3 * scale);
    }
}
