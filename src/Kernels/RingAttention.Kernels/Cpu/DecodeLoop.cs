using System.Numerics;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Few query rows against many keys (decode) on the CPU: the tile loop's GEMMs pad a query tile to whole panels of
/// 4·W rows (64 with AVX-512), so one query row cost the work of 64 (bench/results/cpu-decode.md: 3.6-4× slower at
/// 64K-256K keys). Here the query vectors that share a kv head (rows × group ≤ <see cref="MaxVectors"/>) are scored
/// together against each key row, which is converted once: work items are (kv head, range of keys) with an online
/// softmax over key tiles; each item's normalised partial (o, lse) is then folded into the accumulator by
/// <see cref="SoftmaxMerge.MergeRow"/> in key order, so the bits do not depend on how many threads ran (the GPU's
/// split-K decode, ADR 16, the same way).
/// </summary>
internal static unsafe class DecodeLoop<TV>
    where TV : struct, ISimd<TV>
{
    /// <summary>Most query vectors (rows × group size) this path takes.</summary>
    public const int MaxVectors = 8;

    /// <summary>Work items a call aims at (over all kv heads): enough for every core, few enough partials to fold. A
    /// constant, so the split (and the bits) do not depend on the machine.</summary>
    private const int TargetItems = 256;

    /// <summary>Fewest keys of one work item (its fixed costs vanish).</summary>
    private const int MinRangeKeys = 1024;

    public static bool Serves(int rows, int groupSize) => rows > 0 && (long)rows * groupSize <= MaxVectors;

    public static void Run(CpuAttentionCall call, AttentionMask mask, IReadOnlyList<TokenSpan> querySpans, ParallelOptions parallel, Func<TileScratch> rent, Action<TileScratch> giveBack)
    {
        int dim = call.HeadDim;
        int group = call.GroupSize;
        int vectors = call.QueryRows * group;
        var positions = new long[call.QueryRows];
        int r = 0;
        foreach (var span in querySpans)
        {
            for (int i = 0; i < span.Count; i++)
            {
                positions[r++] = span.Start + i;
            }
        }

        long firstQuery = positions.Min();
        long lastQuery = positions.Max();
        // Ranges of keys (block row, count, first position) that some query sees, in key order.
        var visible = new List<(int Span, long First, long Last)>();
        for (int s = 0; s < call.KeySpans.Length; s++)
        {
            var span = call.KeySpans[s];
            long first = Math.Max(span.Start, mask.FirstVisibleKey(firstQuery));
            long last = Math.Min(span.End - 1L, mask.LastVisibleKey(lastQuery));
            if (first <= last)
            {
                visible.Add((s, first, last));
            }
        }

        long keys = visible.Sum(v => v.Last - v.First + 1);
        long rangeKeys = Math.Max(MinRangeKeys, ((keys * call.KvHeads) + TargetItems - 1) / TargetItems);
        var ranges = new List<(int Row, int Count, long Position)>();
        foreach (var (s, first, last) in visible)
        {
            for (long k = first; k <= last; k += rangeKeys)
            {
                int count = (int)Math.Min(rangeKeys, last - k + 1);
                ranges.Add((call.KeySpanRows[s] + (int)(k - call.KeySpans[s].Start), count, k));
            }
        }

        if (ranges.Count == 0)
        {
            return;
        }

        int items = call.KvHeads * ranges.Count;
        var partialO = new float[(long)items * vectors * dim];
        var partialLse = new float[(long)items * vectors];
        Parallel.For(0, items, parallel, rent, (item, _, scratch) =>
        {
            int kvh = item / ranges.Count;
            var range = ranges[item % ranges.Count];
            Item(call, mask, positions, kvh, range.Row, range.Count, range.Position, scratch,
                partialO.AsSpan((int)((long)item * vectors * dim), vectors * dim), partialLse.AsSpan(item * vectors, vectors));
            return scratch;
        }, giveBack);

        // Fold in key order: (row, head) of vector v of kv head kvh is (v / group, kvh·group + v % group).
        var output = new Span<float>(call.Output, call.QueryRows * call.Heads * dim);
        var lse = new Span<float>(call.Lse, call.Heads * call.QueryRows);
        for (int kvh = 0; kvh < call.KvHeads; kvh++)
        {
            for (int v = 0; v < vectors; v++)
            {
                int row = v / group;
                int head = (kvh * group) + (v % group);
                var o = output.Slice(((row * call.Heads) + head) * dim, dim);
                for (int c = 0; c < ranges.Count; c++)
                {
                    long at = (((long)kvh * ranges.Count) + c) * vectors;
                    SoftmaxMerge.MergeRow(o, ref lse[(head * call.QueryRows) + row], partialO.AsSpan((int)((at + v) * dim), dim), partialLse[at + v]);
                }
            }
        }
    }

    /// <summary>The vectors of kv head <paramref name="kvh"/> against <paramref name="count"/> keys from block row
    /// <paramref name="firstRow"/>: normalised o and lse (−∞ and zeros where a vector sees none of them).</summary>
    private static void Item(CpuAttentionCall call, AttentionMask mask, long[] positions, int kvh, int firstRow, int count, long firstPosition,
        TileScratch scratch, Span<float> partialO, Span<float> partialLse)
    {
        int dim = call.HeadDim;
        int group = call.GroupSize;
        int vectors = partialLse.Length;
        int tile = scratch.KeyTile;
        int size = call.Type.Size();
        float* q = scratch.QueryT;
        float* keys = scratch.Keys;
        float* values = scratch.Values;
        float* scores = scratch.Scores;
        float* acc = scratch.Output;
        float* m = scratch.RowMax;
        float* l = scratch.RowSum;
        for (int v = 0; v < vectors; v++)
        {
            int head = (kvh * group) + (v % group);
            TileLoader<TV>.LoadRows(call.Q + ((((long)(v / group) * call.Heads) + head) * dim * size), call.Type, dim, 0, dim, 1, q + ((long)v * dim));
            for (int d = 0; d < dim; d++)
            {
                q[(v * dim) + d] *= call.Scale;
                acc[(v * dim) + d] = 0f;
            }

            m[v] = float.NegativeInfinity;
            l[v] = 0f;
        }

        int rowElements = call.KvHeads * dim;
        for (int j0 = 0; j0 < count; j0 += tile)
        {
            int keysHere = Math.Min(tile, count - j0);
            long keyPosition = firstPosition + j0;
            byte* kSource = call.K + ((long)(firstRow + j0) * rowElements * size);
            byte* vSource = call.V + ((long)(firstRow + j0) * rowElements * size);
            TileLoader<TV>.LoadRows(kSource, call.Type, rowElements, kvh * dim, dim, keysHere, keys);
            TileLoader<TV>.LoadRows(vSource, call.Type, rowElements, kvh * dim, dim, keysHere, values);
            for (int v = 0; v < vectors; v++)
            {
                long queryPosition = positions[v / group];
                float* s = scores + ((long)v * tile);
                float top = float.NegativeInfinity;
                for (int j = 0; j < keysHere; j++)
                {
                    s[j] = mask.IsVisible(queryPosition, keyPosition + j) ? Dot(q + ((long)v * dim), keys + ((long)j * dim), dim) : float.NegativeInfinity;
                    top = MathF.Max(top, s[j]);
                }

                if (top == float.NegativeInfinity)
                {
                    continue;
                }

                float next = MathF.Max(m[v], top);
                float alpha = MathF.Exp(m[v] - next);
                float* o = acc + ((long)v * dim);
                if (alpha != 1f)
                {
                    Scale(o, alpha, dim);
                    l[v] *= alpha;
                }

                m[v] = next;
                for (int j = 0; j < keysHere; j++)
                {
                    float p = MathF.Exp(s[j] - next);
                    l[v] += p;
                    if (p != 0f)
                    {
                        AddScaled(o, values + ((long)j * dim), p, dim);
                    }
                }
            }
        }

        for (int v = 0; v < vectors; v++)
        {
            float inverse = l[v] > 0f ? 1f / l[v] : 0f;
            for (int d = 0; d < dim; d++)
            {
                partialO[(v * dim) + d] = acc[(v * dim) + d] * inverse;
            }

            partialLse[v] = l[v] > 0f ? m[v] + MathF.Log(l[v]) : float.NegativeInfinity;
        }
    }

    private static float Dot(float* a, float* b, int n)
    {
        int i = 0;
        var sum = Vector<float>.Zero;
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            sum += Vector.Load(a + i) * Vector.Load(b + i);
        }

        float total = Vector.Sum(sum);
        for (; i < n; i++)
        {
            total += a[i] * b[i];
        }

        return total;
    }

    private static void AddScaled(float* o, float* x, float p, int n)
    {
        int i = 0;
        var weight = new Vector<float>(p);
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            Vector.Store(Vector.Load(o + i) + (Vector.Load(x + i) * weight), o + i);
        }

        for (; i < n; i++)
        {
            o[i] += x[i] * p;
        }
    }

    private static void Scale(float* o, float a, int n)
    {
        int i = 0;
        var factor = new Vector<float>(a);
        for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
        {
            Vector.Store(Vector.Load(o + i) * factor, o + i);
        }

        for (; i < n; i++)
        {
            o[i] *= a;
        }
    }
}
