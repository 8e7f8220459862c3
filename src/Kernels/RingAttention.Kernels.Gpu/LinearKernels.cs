using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Linear attention on an ILGPU accelerator, the chunkwise form in three launches per piece of a span (head dim ≤
/// <see cref="MaxDim"/>): <see cref="ChunkStates"/> (each chunk's own S and z), <see cref="Scan"/> (the state before each
/// chunk, from the state before the piece; the state after it), <see cref="Output"/> (each row's o from its chunk's
/// state and the causal products inside the chunk). float32 throughout. Work items loop over the block's threads, so
/// the kernels run with any block size (ILGPU's CPU accelerator has 16 threads a block in CI).
/// </summary>
internal static class LinearKernels
{
    /// <summary>Tokens a chunk state covers.</summary>
    public const int Chunk = 64;

    /// <summary>Query rows of an output block (a chunk has <see cref="Chunk"/> / <see cref="OutputRows"/> of them).</summary>
    public const int OutputRows = 16;

    /// <summary>Keys of a shared tile in <see cref="ChunkStates"/>.</summary>
    public const int KeyTile = 32;

    public const int MaxDim = 128;

    /// <summary>Row stride of shared tiles: one float of padding, so a warp reading a column hits 32 banks.</summary>
    private const int Stride = MaxDim + 1;

    private const float Log2E = 1.44269504088896341f;

    /// <summary>
    /// Grid (chunks, state heads); block any size. states[chunk, stateHead] = (S, z) of the chunk's keys alone, key t of
    /// n weighted γ^(n − 1 − t).
    /// </summary>
    public static void ChunkStates(LinearParams p, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> decayLog2, ArrayView<float> states)
    {
        var sk = SharedMemory.Allocate<float>(KeyTile * Stride);
        var sv = SharedMemory.Allocate<float>(KeyTile * Stride);
        int chunk = Grid.IdxX, sh = Grid.IdxY;
        int d = p.HeadDim, groups = p.Groups, width = groups * 16;
        int kvh = p.PerHeadState != 0 ? sh / p.Group : sh;
        float log2g = decayLog2[p.PerHeadState != 0 ? sh : sh * p.Group];
        int first = chunk * Chunk;
        int n = p.Rows - first < Chunk ? p.Rows - first : Chunk;
        int items = d * groups;
        long outBase = ((long)chunk * p.StateHeads + sh) * p.StateFloats;
        for (int pass = 0; pass * Group.DimX < items; pass++)
        {
            int item = (pass * Group.DimX) + Group.IdxX;
            int i = item / groups, cg = item % groups;
            var acc = default(DecodeSlots);
            float z = 0f;
            for (int t0 = 0; t0 < n; t0 += KeyTile)
            {
                int tiles = n - t0 < KeyTile ? n - t0 : KeyTile;
                Group.Barrier();
                for (int e = Group.IdxX; e < KeyTile * width; e += Group.DimX)
                {
                    int t = e / width, col = e % width;
                    long row = (long)(p.RowOffset + first + t0 + t) * p.KvHeads + kvh;
                    bool live = t < tiles && col < d;
                    float w = live ? SoftMath.Exp2((n - 1 - (t0 + t)) * log2g) : 0f;
                    sk[(t * Stride) + col] = live ? w * Phi(p.FeatureMap, PortableKernel.Load(k, p.DType, (row * d) + col)) : 0f;
                    sv[(t * Stride) + col] = live ? PortableKernel.Load(v, p.DType, (row * d) + col) : 0f;
                }

                Group.Barrier();
                if (item < items)
                {
                    for (int t = 0; t < tiles; t++)
                    {
                        float a = sk[(t * Stride) + i];
                        acc = acc.Plus(Strided(sv, t * Stride, cg, groups), a);
                        z += a;
                    }
                }
            }

            if (item < items)
            {
                Store(states, outBase + ((long)i * d), cg, groups, d, acc);
                if (cg == 0)
                {
                    states[outBase + ((long)d * d) + i] = z;
                }
            }
        }
    }

    /// <summary>
    /// Grid over (state head, element of S and z), one thread an element: walks the piece's chunks in order, replacing
    /// each chunk's own state by the state before the chunk (starting from <paramref name="carry"/>, the state before the
    /// piece) and leaving the state after the piece in <paramref name="carry"/>.
    /// </summary>
    public static void Scan(Index1D index, LinearParams p, ArrayView<float> decayLog2, ArrayView<float> states, ArrayView<float> carry)
    {
        int floats = p.StateFloats;
        int element = index;
        if (element >= p.StateHeads * floats)
        {
            return;
        }

        int sh = element / floats;
        float log2g = decayLog2[p.PerHeadState != 0 ? sh : sh * p.Group];
        float running = carry[element];
        for (int c = 0; c < p.Chunks; c++)
        {
            int n = p.Rows - (c * Chunk) < Chunk ? p.Rows - (c * Chunk) : Chunk;
            long at = ((long)c * p.StateHeads * floats) + element;
            float own = states[at];
            states[at] = running;
            running = (SoftMath.Exp2(n * log2g) * running) + own;
        }

        carry[element] = running;
    }

    /// <summary>
    /// Grid (chunks · <see cref="Chunk"/> / <see cref="OutputRows"/>, query heads); block any size. o of
    /// <see cref="OutputRows"/> rows of one head: causal, φ(q)ᵀ(γ^(r+1) S_chunk) plus the decayed products with the
    /// chunk's keys up to the row; not causal, φ(q)ᵀ S of the whole sequence (<paramref name="states"/> then holds that
    /// one state, used by every chunk). Divided by the same sums over z when normalising.
    /// </summary>
    public static void Output(LinearParams p, ArrayView<ushort> q, ArrayView<ushort> k, ArrayView<ushort> v, ArrayView<float> decayLog2,
        ArrayView<float> states, ArrayView<float> o)
    {
        var sq = SharedMemory.Allocate<float>(OutputRows * Stride);
        var skv = SharedMemory.Allocate<float>(Chunk * Stride);
        var ss = SharedMemory.Allocate<float>(OutputRows * (Chunk + 1));
        int blocksPerChunk = Chunk / OutputRows;
        int chunk = Grid.IdxX / blocksPerChunk, part = Grid.IdxX % blocksPerChunk, h = Grid.IdxY;
        int d = p.HeadDim, groups = p.Groups, width = groups * 16;
        int kvh = h / p.Group, sh = p.PerHeadState != 0 ? h : kvh;
        float log2g = decayLog2[h];
        int chunkFirst = chunk * Chunk, first = chunkFirst + (part * OutputRows);
        int rows = p.Rows - first < OutputRows ? p.Rows - first : OutputRows;
        if (rows <= 0)
        {
            return;
        }

        // Keys of the chunk this block's rows see (causal): up to its last row.
        int keys = p.Causal != 0 ? (part * OutputRows) + rows : 0;
        for (int e = Group.IdxX; e < OutputRows * d; e += Group.DimX)
        {
            int r = e / d, col = e % d;
            sq[(r * Stride) + col] = r < rows ? Phi(p.FeatureMap, PortableKernel.Load(q, p.DType, ((long)(p.RowOffset + first + r) * p.Heads + h) * d + col)) : 0f;
        }

        for (int e = Group.IdxX; e < keys * d; e += Group.DimX)
        {
            int t = e / d, col = e % d;
            skv[(t * Stride) + col] = Phi(p.FeatureMap, PortableKernel.Load(k, p.DType, ((long)(p.RowOffset + chunkFirst + t) * p.KvHeads + kvh) * d + col));
        }

        Group.Barrier();
        for (int e = Group.IdxX; e < OutputRows * keys; e += Group.DimX)
        {
            int r = e / keys, t = e % keys;
            int row = (part * OutputRows) + r;
            float s = 0f;
            if (t <= row && r < rows)
            {
                for (int i = 0; i < d; i++)
                {
                    s += sq[(r * Stride) + i] * skv[(t * Stride) + i];
                }

                s *= SoftMath.Exp2((row - t) * log2g);
            }

            ss[(r * (Chunk + 1)) + t] = s;
        }

        Group.Barrier();
        for (int e = Group.IdxX; e < keys * width; e += Group.DimX)
        {
            int t = e / width, col = e % width;
            skv[(t * Stride) + col] = col < d ? PortableKernel.Load(v, p.DType, ((long)(p.RowOffset + chunkFirst + t) * p.KvHeads + kvh) * d + col) : 0f;
        }

        Group.Barrier();
        long stateBase = ((p.Causal != 0 ? (long)chunk * p.StateHeads : 0) + sh) * p.StateFloats;
        for (int item = Group.IdxX; item < OutputRows * groups; item += Group.DimX)
        {
            int r = item / groups, cg = item % groups;
            if (r >= rows)
            {
                continue;
            }

            int row = (part * OutputRows) + r;
            var acc = default(DecodeSlots);
            float den = 0f;
            for (int t = 0; t < keys; t++)
            {
                float s = ss[(r * (Chunk + 1)) + t];
                acc = acc.Plus(Strided(skv, t * Stride, cg, groups), s);
                den += s;
            }

            // The state before the chunk reaches row r of it decayed γ^(r + 1) (not causal: the total, undecayed).
            float g = p.Causal != 0 ? SoftMath.Exp2((row + 1) * log2g) : 1f;
            float qz = 0f;
            for (int i = 0; i < d; i++)
            {
                float a = g * sq[(r * Stride) + i];
                acc = acc.Plus(StridedGlobal(states, stateBase + ((long)i * d), cg, groups, d), a);
                qz += a * states[stateBase + ((long)d * d) + i];
            }

            den += qz;
            float inverse = p.Normalize != 0 ? 1f / den : 1f;
            Store(o, ((long)(p.RowOffset + first + r) * p.Heads + h) * d, cg, groups, d, acc.Scaled(inverse));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Phi(int map, float x) =>
        map == 0 ? (x > 0f ? x + 1f : SoftMath.Exp2(x * Log2E)) : map == 1 ? (x > 0f ? x : 0f) : x;

    /// <summary>Columns cg + groups·m (m &lt; 16) of a shared row (zero-padded to 16·groups columns).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeSlots Strided(ArrayView<float> s, int b, int cg, int g) => new()
    {
        S0 = s[b + cg], S1 = s[b + cg + g], S2 = s[b + cg + (2 * g)], S3 = s[b + cg + (3 * g)],
        S4 = s[b + cg + (4 * g)], S5 = s[b + cg + (5 * g)], S6 = s[b + cg + (6 * g)], S7 = s[b + cg + (7 * g)],
        S8 = s[b + cg + (8 * g)], S9 = s[b + cg + (9 * g)], S10 = s[b + cg + (10 * g)], S11 = s[b + cg + (11 * g)],
        S12 = s[b + cg + (12 * g)], S13 = s[b + cg + (13 * g)], S14 = s[b + cg + (14 * g)], S15 = s[b + cg + (15 * g)],
    };

    /// <summary>Columns cg + groups·m of a row of D floats in global memory (0 past D).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static DecodeSlots StridedGlobal(ArrayView<float> s, long b, int cg, int g, int d) => new()
    {
        S0 = At(s, b, cg, d), S1 = At(s, b, cg + g, d), S2 = At(s, b, cg + (2 * g), d), S3 = At(s, b, cg + (3 * g), d),
        S4 = At(s, b, cg + (4 * g), d), S5 = At(s, b, cg + (5 * g), d), S6 = At(s, b, cg + (6 * g), d), S7 = At(s, b, cg + (7 * g), d),
        S8 = At(s, b, cg + (8 * g), d), S9 = At(s, b, cg + (9 * g), d), S10 = At(s, b, cg + (10 * g), d), S11 = At(s, b, cg + (11 * g), d),
        S12 = At(s, b, cg + (12 * g), d), S13 = At(s, b, cg + (13 * g), d), S14 = At(s, b, cg + (14 * g), d), S15 = At(s, b, cg + (15 * g), d),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float At(ArrayView<float> s, long b, int col, int d) => col < d ? s[b + col] : 0f;

    /// <summary>Writes the slots to columns cg + groups·m (&lt; D) of a row of D floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(ArrayView<float> o, long b, int cg, int g, int d, DecodeSlots x)
    {
        Put(o, b, cg, d, x.S0); Put(o, b, cg + g, d, x.S1); Put(o, b, cg + (2 * g), d, x.S2); Put(o, b, cg + (3 * g), d, x.S3);
        Put(o, b, cg + (4 * g), d, x.S4); Put(o, b, cg + (5 * g), d, x.S5); Put(o, b, cg + (6 * g), d, x.S6); Put(o, b, cg + (7 * g), d, x.S7);
        Put(o, b, cg + (8 * g), d, x.S8); Put(o, b, cg + (9 * g), d, x.S9); Put(o, b, cg + (10 * g), d, x.S10); Put(o, b, cg + (11 * g), d, x.S11);
        Put(o, b, cg + (12 * g), d, x.S12); Put(o, b, cg + (13 * g), d, x.S13); Put(o, b, cg + (14 * g), d, x.S14); Put(o, b, cg + (15 * g), d, x.S15);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ArrayView<float> o, long b, int col, int d, float value)
    {
        if (col < d)
        {
            o[b + col] = value;
        }
    }
}
