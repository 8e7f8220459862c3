using System.Runtime.CompilerServices;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// One work item: one query tile of one head against every visible key tile of the kv block (FlashAttention-2
/// order: the query tile and its O stay in scratch, key tiles stream past). Per key tile:
/// S^T = K·Q^T (Q scaled by scale·log2 e), mask if the tile is partial, online softmax in base 2, O = O·rescale + P·V.
/// At the end O/l and lse = m + log l are merged into the accumulator rows, which only this item owns.
/// </summary>
internal static unsafe class AttentionTileLoop<TV>
    where TV : struct, ISimd<TV>
{
    // Scores are kept in log2 units (q is scaled by scale·log2 e) so the softmax can use 2^x; lse goes back to ln.
    private const float Log2E = 1.44269504088896341f;

    /// <returns>False when cancelled between key tiles; this item's accumulator rows are then left unchanged.</returns>
    public static bool Run(CpuAttentionCall call, int item, TileScratch scratch, CancellationToken cancellationToken)
    {
        int head = item / call.Tiles.Length;
        var tile = call.Tiles[item % call.Tiles.Length];
        int kvHead = head / call.GroupSize;
        int headDim = call.HeadDim;
        int paddedDim = RoundUp(headDim, TV.Count);
        int queryVecs = RoundUp(tile.Count, TV.Count) / TV.Count;
        int elementSize = call.Type.Size();

        TileLoader<TV>.LoadTransposed(
            call.Q + ((long)tile.Row * call.Heads * headDim * elementSize), call.Type, call.Heads * headDim, head * headDim, headDim,
            tile.Count, queryVecs * TV.Count, call.Scale * Log2E, scratch.QueryT);
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void KeyTile(CpuAttentionCall call, TileScratch scratch, QueryTile tile, int kvHead, int keyRow, long firstKey, int keys, bool full, int queryVecs, int paddedDim)
    {
        int headDim = call.HeadDim;
        int rowElements = call.KvHeads * headDim;
        int headOffset = kvHead * headDim;
        int qStride = scratch.QueryTile;
        long rowOffset = (long)keyRow * rowElements * call.Type.Size(); // bytes
        int panelStride = scratch.KeyTile * TileLoader<TV>.PanelWidth;
        TileLoader<TV>.LoadRows(call.K + rowOffset, call.Type, rowElements, headOffset, headDim, keys, scratch.Keys);
        TileLoader<TV>.LoadPanels(call.V + rowOffset, call.Type, rowElements, headOffset, headDim, keys, scratch.Values, panelStride);

        // S^T[j, i] = Σ_d K[j, d] · Q^T[d, i]: A = K rows (broadcast), B = Q^T panels.
        float* scores = scratch.Scores;
        TileGemm<TV>.Multiply(
            keys, queryVecs, scratch.Keys, headDim, 1, scratch.QueryT, TileLoader<TV>.PanelWidth, headDim * TileLoader<TV>.PanelWidth, scores, qStride, headDim, accumulate: false);
        if (!full)
        {
            OnlineSoftmax<TV>.ApplyMask(scores, qStride, keys, queryVecs, firstKey, tile.Start, call.Bounds);
        }

        if (OnlineSoftmax<TV>.Update(scores, qStride, keys, queryVecs, scratch.RowMax, scratch.RowSum, scratch.Rescale))
        {
            Rescale(scratch, tile.Count, paddedDim);
        }

        // O[i, :] += Σ_j P^T[j, i] · V[j, :]: A = P read down a column of P^T (row stride 1, column stride qStride).
        TileGemm<TV>.Multiply(
            tile.Count, paddedDim / TV.Count, scores, 1, qStride, scratch.Values, TileLoader<TV>.PanelWidth, panelStride, scratch.Output, paddedDim, keys, accumulate: true);
    }

    private static void Start(TileScratch scratch, int rows, int paddedDim)
    {
        new Span<float>(scratch.Output, rows * paddedDim).Clear();
        new Span<float>(scratch.RowMax, scratch.QueryTile).Fill(float.NegativeInfinity);
        new Span<float>(scratch.RowSum, scratch.QueryTile).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
                SoftmaxMerge.BlockLse<HostMath>(scratch.RowMax[i], sum));
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
