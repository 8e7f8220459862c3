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
                LinearStaging.Rows(sk, Stride, k, p, first + t0, count, p.KvHeads, kvh, phi: true, last: n - 1 - t0, log2g);
                LinearStaging.Rows(sv, Stride, v, p, first + t0, count, p.KvHeads, kvh, phi: false, last: 0, 0f);
                Group.Barrier();
                if (item < items)
                {
                    for (int t = 0; t < count; t++)
                    {
                        int kb = (t * Stride) + i0, vb = (t * Stride) + jj;
                        float b0 = sv[vb], b1 = sv[vb + 32], b2 = sv[vb + 64], b3 = sv[vb + 96];
                        float a0 = sk[kb], a1 = sk[kb + 1], a2 = sk[kb + 2], a3 = sk[kb + 3];
                        float a4 = sk[kb + 4], a5 = sk[kb + 5], a6 = sk[kb + 6], a7 = sk[kb + 7];
                        top = LinearTiles.Outer(top, a0, a1, a2, a3, b0, b1, b2, b3);
                        bottom = LinearTiles.Outer(bottom, a4, a5, a6, a7, b0, b1, b2, b3);
                        z = LinearTiles.Add8(z, a0, a1, a2, a3, a4, a5, a6, a7);
                    }
                }
            }

            if (item < items)
            {
                LinearTiles.StoreTile(states, outBase, i0, jj, d, top);
                LinearTiles.StoreTile(states, outBase, i0 + 4, jj, d, bottom);
                if (jj == 0)
                {
                    long zBase = outBase + ((long)d * d);
                    LinearTiles.PutRow(states, zBase, i0, d, z.S0);
                    LinearTiles.PutRow(states, zBase, i0 + 1, d, z.S1);
                    LinearTiles.PutRow(states, zBase, i0 + 2, d, z.S2);
                    LinearTiles.PutRow(states, zBase, i0 + 3, d, z.S3);
                    LinearTiles.PutRow(states, zBase, i0 + 4, d, z.S4);
                    LinearTiles.PutRow(states, zBase, i0 + 5, d, z.S5);
                    LinearTiles.PutRow(states, zBase, i0 + 6, d, z.S6);
                    LinearTiles.PutRow(states, zBase, i0 + 7, d, z.S7);
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
    /// <see cref="OutputRows"/> rows of one head: causal, γ^(r+1)·φ(q)ᵀS_chunk plus the decayed products with the
    /// chunk's keys up to the row; not causal, φ(q)ᵀ S of the whole sequence (<paramref name="states"/> then holds that
    /// one state). Divided by the same sums over z when normalising. A work item holds an 8 × 4 tile of o (rows
    /// 8·(item / 32) + r, columns item % 32 + 32·c): 32 FMAs per 12 shared loads; keys, values and state rows pass
    /// through one shared slice. The state product comes first so that its decay is one scaling of the sums (NOTES v8c).
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
        LinearStaging.Rows(sq, Stride, q, p, first, rows, p.Heads, h, phi: true, last: 0, 0f);

        for (int pass = 0; pass * Group.DimX < OutputItems; pass++)
        {
            int item = (pass * Group.DimX) + Group.IdxX;
            int r0 = (item / 32) * 8, jj = item % 32;
            var top = default(DecodeSlots);
            var bottom = default(DecodeSlots);
            var den = default(DecodeSlots);

            // The state before the chunk, a slice of its rows at a time (not causal: the total). It reaches row r decayed
            // γ^(r + 1): one scaling of the finished sums below, not a multiply per product.
            for (int i0 = 0; i0 < d; i0 += Slice)
            {
                int count = d - i0 < Slice ? d - i0 : Slice;
                Group.Barrier();
                LinearStaging.State(buffer, Stride, states, stateBase, i0, count, d);
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
                        float a0 = sq[qb], a1 = sq[qb + Stride], a2 = sq[qb + (2 * Stride)], a3 = sq[qb + (3 * Stride)];
                        float a4 = sq[qb + (4 * Stride)], a5 = sq[qb + (5 * Stride)], a6 = sq[qb + (6 * Stride)], a7 = sq[qb + (7 * Stride)];
                        float b0 = buffer[vb], b1 = buffer[vb + 32], b2 = buffer[vb + 64], b3 = buffer[vb + 96];
                        top = LinearTiles.Outer(top, a0, a1, a2, a3, b0, b1, b2, b3);
                        bottom = LinearTiles.Outer(bottom, a4, a5, a6, a7, b0, b1, b2, b3);
                        float zi = sz[i];
                        den = LinearTiles.Add8(den, a0 * zi, a1 * zi, a2 * zi, a3 * zi, a4 * zi, a5 * zi, a6 * zi, a7 * zi);
                    }
                }
            }

            if (p.Causal != 0)
            {
                float step = SoftMath.Exp2(log2g);
                float g0 = SoftMath.Exp2(((part * OutputRows) + r0 + 1) * log2g);
                float g1 = g0 * step, g2 = g1 * step, g3 = g2 * step, g4 = g3 * step, g5 = g4 * step, g6 = g5 * step, g7 = g6 * step;
                top = LinearTiles.ScaleRows(top, g0, g1, g2, g3);
                bottom = LinearTiles.ScaleRows(bottom, g4, g5, g6, g7);
                den = LinearTiles.Scale8(den, g0, g1, g2, g3, g4, g5, g6, g7);
            }

            // The products with the chunk's own keys: scores of the block's rows against each slice of keys, then × v.
            for (int s0 = 0; s0 < keys; s0 += Slice)
            {
                int count = keys - s0 < Slice ? keys - s0 : Slice;
                Group.Barrier();
                LinearStaging.Rows(buffer, Stride, k, p, chunkFirst + s0, count, p.KvHeads, kvh, phi: true, last: 0, 0f);
                Group.Barrier();
                // A 4 × 2 tile of scores a work item (rows r + 8·m, keys t and t + 16): 8 FMAs per 6 shared loads; a warp
                // reads two q rows (broadcast) and 16 key rows (129 floats apart: distinct banks).
                for (int e = Group.IdxX; e < OutputRows / 4 * (Slice / 2); e += Group.DimX)
                {
                    int r = e / (Slice / 2), t = e % (Slice / 2);
                    float x00 = 0f, x10 = 0f, x20 = 0f, x30 = 0f, x01 = 0f, x11 = 0f, x21 = 0f, x31 = 0f;
                    for (int i = 0; i < d; i++)
                    {
                        float b0 = buffer[(t * Stride) + i], b1 = buffer[((t + 16) * Stride) + i];
                        float a0 = sq[(r * Stride) + i], a1 = sq[((r + 8) * Stride) + i], a2 = sq[((r + 16) * Stride) + i], a3 = sq[((r + 24) * Stride) + i];
                        x00 += a0 * b0;
                        x10 += a1 * b0;
                        x20 += a2 * b0;
                        x30 += a3 * b0;
                        x01 += a0 * b1;
                        x11 += a1 * b1;
                        x21 += a2 * b1;
                        x31 += a3 * b1;
                    }

                    int row = (part * OutputRows) + r;
                    PutScores(scores, r, row, s0, t, rows, count, log2g, x00, x10, x20, x30);
                    PutScores(scores, r, row, s0, t + 16, rows, count, log2g, x01, x11, x21, x31);
                }

                Group.Barrier();
                LinearStaging.Rows(buffer, Stride, v, p, chunkFirst + s0, count, p.KvHeads, kvh, phi: false, last: 0, 0f);
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
                        top = LinearTiles.Outer(top, a0, a1, a2, a3, b0, b1, b2, b3);
                        bottom = LinearTiles.Outer(bottom, a4, a5, a6, a7, b0, b1, b2, b3);
                        den = LinearTiles.Add8(den, a0, a1, a2, a3, a4, a5, a6, a7);
                    }
                }
            }

            if (item < OutputItems)
            {
                long oBase = ((long)(p.RowOffset + first) * p.Heads + h) * d;
                long rowStride = (long)p.Heads * d;
                bool norm = p.Normalize != 0;
                LinearTiles.PutOut(o, oBase, rowStride, r0, rows, jj, d, top.S0, top.S1, top.S2, top.S3, norm ? 1f / den.S0 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 1, rows, jj, d, top.S4, top.S5, top.S6, top.S7, norm ? 1f / den.S1 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 2, rows, jj, d, top.S8, top.S9, top.S10, top.S11, norm ? 1f / den.S2 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 3, rows, jj, d, top.S12, top.S13, top.S14, top.S15, norm ? 1f / den.S3 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 4, rows, jj, d, bottom.S0, bottom.S1, bottom.S2, bottom.S3, norm ? 1f / den.S4 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 5, rows, jj, d, bottom.S4, bottom.S5, bottom.S6, bottom.S7, norm ? 1f / den.S5 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 6, rows, jj, d, bottom.S8, bottom.S9, bottom.S10, bottom.S11, norm ? 1f / den.S6 : 1f);
                LinearTiles.PutOut(o, oBase, rowStride, r0 + 7, rows, jj, d, bottom.S12, bottom.S13, bottom.S14, bottom.S15, norm ? 1f / den.S7 : 1f);
            }
        }
    }

    /// <summary>A causal, decayed score: γ^(row − key) · x for a key at or before the row, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Score(float x, int row, int key, bool live, float log2g) =>
        live && key <= row ? x * SoftMath.Exp2((row - key) * log2g) : 0f;

    /// <summary>Scores of rows r, r + 8, r + 16, r + 24 (block rows; <paramref name="row"/> is r's row in the chunk) against
    /// key <paramref name="t"/> of the slice at <paramref name="s0"/>; rows or keys past the block's end get 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutScores(ArrayView<float> scores, int r, int row, int s0, int t, int rows, int count, float log2g, float x0, float x1, float x2, float x3)
    {
        const int Row = Chunk + 1;
        int key = s0 + t;
        bool live = t < count;
        scores[(r * Row) + key] = Score(x0, row, key, live && r < rows, log2g);
        scores[((r + 8) * Row) + key] = Score(x1, row + 8, key, live && r + 8 < rows, log2g);
        scores[((r + 16) * Row) + key] = Score(x2, row + 16, key, live && r + 16 < rows, log2g);
        scores[((r + 24) * Row) + key] = Score(x3, row + 24, key, live && r + 24 < rows, log2g);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float Phi(int map, float x) =>
        map == 0 ? (x > 0f ? x + 1f : SoftMath.Exp2(x * Log2E)) : map == 1 ? (x > 0f ? x : 0f) : x;
}
