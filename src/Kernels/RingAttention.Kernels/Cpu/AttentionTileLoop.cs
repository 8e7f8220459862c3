using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// One work item: one query tile of one head against every visible key tile of the kv block (FlashAttention-2
/// order: the query tile and its O stay in scratch, key tiles stream past). Per key tile:
/// S^T = K·Q^T (scaled Q), mask if the tile is partial, online softmax, O = O·rescale + P·V.
/// At the end O/l and lse = m + log l are merged into the accumulator rows, which only this item owns.
/// </summary>
internal static unsafe class AttentionTileLoop<TV>
    where TV : struct, ISimd<TV>
{
    /// <returns>False when cancelled between key tiles (the accumulator rows are then left unchanged).</returns>
    public static bool Run(CpuAttentionCall call, int item, TileScratch scratch, CancellationToken cancellationToken)
    {
        int head = item / call.Tiles.Length;
        var tile = call.Tiles[item % call.Tiles.Length];
        int kvHead = head / call.GroupSize;
        int headDim = call.HeadDim;
        int paddedDim = RoundUp(headDim, TV.Count);
        int queryVecs = RoundUp(tile.Count, TV.Count) / TV.Count;
        int qStride = scratch.QueryTile;
        int elementSize = call.Type.Size();

        TileLoader<TV>.LoadTransposed(
            call.Q + ((long)tile.Row * call.Heads * headDim * elementSize), call.Type, call.Heads * headDim, head * headDim, headDim,
            tile.Count, queryVecs * TV.Count, call.Scale, scratch.QueryT, qStride);
        Start(scratch, tile.Count, paddedDim);

        for (int s = 0; s < call.KeySpans.Length; s++)
        {
            var span = call.KeySpans[s];
            var (first, last) = call.Bounds.KeyRange(tile, span);
            for (long k0 = first; k0 <= last; k0 += scratch.KeyTile)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                int keys = (int)Math.Min(scratch.KeyTile, last - k0 + 1);
                int keyRow = call.KeySpanRows[s] + (int)(k0 - span.Start);
                bool full = call.Bounds.FullyVisible(tile, k0, k0 + keys - 1);
                KeyTile(call, scratch, tile, kvHead, keyRow, k0, keys, full, queryVecs, paddedDim);
            }
        }

        Finish(call, scratch, tile, head, paddedDim);
        return true;
    }

    private static void KeyTile(CpuAttentionCall call, TileScratch scratch, QueryTile tile, int kvHead, int keyRow, long firstKey, int keys, bool full, int queryVecs, int paddedDim)
    {
        int headDim = call.HeadDim;
        int rowElements = call.KvHeads * headDim;
        int headOffset = kvHead * headDim;
        int qStride = scratch.QueryTile;
        long tileOffset = ((long)keyRow * rowElements) + headOffset; // elements
        bool f32 = call.Type == ElementType.F32;

        // K: f32 is read in place (the product broadcasts its elements, so any row stride works).
        float* k;
        int kStride;
        if (f32)
        {
            k = (float*)call.K + tileOffset;
            kStride = rowElements;
        }
        else
        {
            TileLoader<TV>.LoadRows(call.K + ((long)keyRow * rowElements * call.Type.Size()), call.Type, rowElements, headOffset, headDim, keys, scratch.Keys, headDim);
            k = scratch.Keys;
            kStride = headDim;
        }

        // V: rows are loaded as whole vectors, so f32 is read in place only when headDim fills them exactly.
        float* v;
        int vStride;
        if (f32 && headDim == paddedDim)
        {
            v = (float*)call.V + tileOffset;
            vStride = rowElements;
        }
        else
        {
            TileLoader<TV>.LoadRows(call.V + ((long)keyRow * rowElements * call.Type.Size()), call.Type, rowElements, headOffset, headDim, keys, scratch.Values, paddedDim);
            v = scratch.Values;
            vStride = paddedDim;
        }

        float* scores = scratch.Scores;
        TileGemm<TV>.Multiply(keys, queryVecs, k, kStride, 1, scratch.QueryT, qStride, scores, qStride, headDim, accumulate: false);
        if (!full)
        {
            OnlineSoftmax<TV>.ApplyMask(scores, qStride, keys, queryVecs, firstKey, tile.Start, call.Bounds);
        }

        if (OnlineSoftmax<TV>.Update(scores, qStride, keys, queryVecs, scratch.RowMax, scratch.RowSum, scratch.Rescale))
        {
            Rescale(scratch, tile.Count, paddedDim);
        }

        // O[i, :] += Σ_j P^T[j, i] · V[j, :]: A = P read down a column of P^T (row stride 1, column stride qStride).
        TileGemm<TV>.Multiply(tile.Count, paddedDim / TV.Count, scores, 1, qStride, v, vStride, scratch.Output, paddedDim, keys, accumulate: true);
    }

    private static void Start(TileScratch scratch, int rows, int paddedDim)
    {
        new Span<float>(scratch.Output, rows * paddedDim).Clear();
        new Span<float>(scratch.RowMax, scratch.QueryTile).Fill(float.NegativeInfinity);
        new Span<float>(scratch.RowSum, scratch.QueryTile).Clear();
    }

    private static void Rescale(TileScratch scratch, int rows, int paddedDim)
    {
        for (int i = 0; i < rows; i++)
        {
            float alpha = scratch.Rescale[i];
            if (alpha == 1f)
            {
                continue;
            }

            TV a = TV.Create(alpha);
            float* row = scratch.Output + ((long)i * paddedDim);
            for (int d = 0; d < paddedDim; d += TV.Count)
            {
                TV.Store(TV.Multiply(TV.Load(row + d), a), row + d);
            }
        }
    }

    private static void Finish(CpuAttentionCall call, TileScratch scratch, QueryTile tile, int head, int paddedDim)
    {
        int headDim = call.HeadDim;
        for (int i = 0; i < tile.Count; i++)
        {
            float sum = scratch.RowSum[i];
            if (sum == 0f)
            {
                continue; // no visible key in this block: merging an empty partial is the identity
            }

            float* row = scratch.Output + ((long)i * paddedDim);
            float inverse = 1f / sum;
            for (int d = 0; d < headDim; d++)
            {
                row[d] *= inverse;
            }

            int queryRow = tile.Row + i;
            float* target = call.Output + ((((long)queryRow * call.Heads) + head) * headDim);
            SoftmaxMerge.MergeRow(
                new Span<float>(target, headDim),
                ref call.Lse[((long)head * call.QueryRows) + queryRow],
                new ReadOnlySpan<float>(row, headDim),
                scratch.RowMax[i] + MathF.Log(sum));
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
