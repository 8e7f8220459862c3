using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One running result merged into another on the device (<see cref="IAttentionBackend.MergeAccumulators"/>): the
/// partials of session shards that share a device fold there along the session's merge tree, so one result crosses
/// PCIe instead of one per shard (ADR 27). The rule is <see cref="SoftmaxMerge.MergeRow"/>'s, row by row.
/// </summary>
internal static class AccumulatorMerge
{
    /// <summary>
    /// Grid x = rows, y = heads; group = threads over the head dim. (o, lse) of <paramref name="sourceO"/> /
    /// <paramref name="sourceLse"/> into <paramref name="targetO"/> / <paramref name="targetLse"/> (o [rows, heads, dim],
    /// lse [heads, rows], as an accumulator lays them out).
    /// </summary>
    public static void Run(ArrayView<float> targetO, ArrayView<float> targetLse, ArrayView<float> sourceO, ArrayView<float> sourceLse, int rows, int heads, int dim)
    {
        int row = Grid.IdxX;
        int h = Grid.IdxY;
        long lseIndex = ((long)h * rows) + row;
        float merged = SoftmaxMerge.Combine<PortableMath>(targetLse[lseIndex], sourceLse[lseIndex], out float weight, out float otherWeight);
        long oBase = (((long)row * heads) + h) * dim;
        // As MergeRow: nothing on the other side leaves the row as it is, nothing here takes the other side exactly.
        if (otherWeight != 0f)
        {
            for (int d = Group.IdxX; d < dim; d += Group.DimX)
            {
                targetO[oBase + d] = weight == 0f ? sourceO[oBase + d] : (weight * targetO[oBase + d]) + (otherWeight * sourceO[oBase + d]);
            }
        }

        // Every thread has read the target's lse before one writes it.
        Group.Barrier();
        if (Group.IdxX == 0)
        {
            targetLse[lseIndex] = merged;
        }
    }
}
