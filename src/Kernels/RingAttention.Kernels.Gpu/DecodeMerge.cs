using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The second launch of a split-K decode (<see cref="DecodeKernel"/>): folds the chunks' partial (o, lse) of each
/// (query row, head) by LSE, in chunk order, into the running result.
/// </summary>
internal static class DecodeMerge
{
    /// <summary>
    /// Grid x = query rows, y = heads; group = threads over the head dim. Folds the <paramref name="chunks"/> partials of
    /// (row, head) in chunk order and merges the result into the running O/LSE (or writes it, when p.Merge is 0).
    /// </summary>
    public static void Run(FlashParams p, int chunks, ArrayView<float> partialO, ArrayView<float> partialLse, ArrayView<float> o, ArrayView<float> lse)
    {
        int row = Grid.IdxX;
        int h = Grid.IdxY;
        int kvh = h / p.Group;
        int vector = (row * p.Group) + (h % p.Group);
        int vectors = p.QCount * p.Group;
        int dim = p.HeadDim;
        // The group's threads split the chunks for the max and the sum of exponentials (reduced through shared memory,
        // in the same order every time); a single thread walking a long chain of dependent steps measured a third of
        // a millisecond a launch.
        var shared = SharedMemory.Allocate<float>(MergeThreads);
        float top = float.NegativeInfinity;
        for (int c = Group.IdxX; c < chunks; c += Group.DimX)
        {
            float l = partialLse[DecodeKernel.PartialIndex(c, kvh, vector, vectors, p.KvHeads)];
            top = l > top ? l : top;
        }

        top = GroupReduce(shared, top, max: true);
        float total = float.NegativeInfinity;
        if (top != float.NegativeInfinity)
        {
            float sumExp = 0f;
            for (int c = Group.IdxX; c < chunks; c += Group.DimX)
            {
                sumExp += SoftMath.Exp2((partialLse[DecodeKernel.PartialIndex(c, kvh, vector, vectors, p.KvHeads)] - top) * SoftmaxMerge.Log2E);
            }

            total = top + (SoftMath.Log2(GroupReduce(shared, sumExp, max: false)) * SoftmaxMerge.Ln2);
        }

        long lseIndex = (long)h * p.LseStride + p.QRowOffset + row;
        float old = p.Merge != 0 ? lse[lseIndex] : float.NegativeInfinity;
        float merged = SoftmaxMerge.Combine<PortableMath>(old, total, out float wOld, out float wNew);
        long oBase = ((long)(p.QRowOffset + row) * p.Heads + h) * dim;
        // Each chunk's weight once, into shared memory; then the threads split (dim, chunk group): thread t sums dim
        // t % D over chunks t / D, t / D + G, ... with four independent accumulators (four loads in flight), and the
        // G partial sums of a dim add up in group order. One thread per dim walking every chunk measured 236 µs a launch.
        var weights = SharedMemory.Allocate<float>(MaxChunks);
        for (int c = Group.IdxX; c < chunks; c += Group.DimX)
        {
            weights[c] = total == float.NegativeInfinity ? 0f
                : SoftMath.Exp2((partialLse[DecodeKernel.PartialIndex(c, kvh, vector, vectors, p.KvHeads)] - total) * SoftmaxMerge.Log2E);
        }

        Group.Barrier();
        int groups = Group.DimX / dim > 0 ? Group.DimX / dim : 1;
        for (int x0 = 0; x0 < dim; x0 += Group.DimX)
        {
            int t = Group.IdxX;
            int x = x0 + (t % dim);
            int g = t / dim;
            float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
            if (g < groups && x < dim)
            {
                int c = g;
                for (; c + (3 * groups) < chunks; c += 4 * groups)
                {
                    s0 += weights[c] * partialO[(DecodeKernel.PartialIndex(c, kvh, vector, vectors, p.KvHeads) * dim) + x];
                    s1 += weights[c + groups] * partialO[(DecodeKernel.PartialIndex(c + groups, kvh, vector, vectors, p.KvHeads) * dim) + x];
                    s2 += weights[c + (2 * groups)] * partialO[(DecodeKernel.PartialIndex(c + (2 * groups), kvh, vector, vectors, p.KvHeads) * dim) + x];
                    s3 += weights[c + (3 * groups)] * partialO[(DecodeKernel.PartialIndex(c + (3 * groups), kvh, vector, vectors, p.KvHeads) * dim) + x];
                }

                for (; c < chunks; c += groups)
                {
                    s0 += weights[c] * partialO[(DecodeKernel.PartialIndex(c, kvh, vector, vectors, p.KvHeads) * dim) + x];
                }
            }

            Group.Barrier();
            shared[t] = (s0 + s1) + (s2 + s3);
            Group.Barrier();
            if (g == 0 && x < dim)
            {
                float sum = 0f;
                for (int k = 0; k < groups; k++)
                {
                    sum += shared[(k * dim) + (t % dim)];
                }

                o[oBase + x] = p.Merge != 0 ? (wOld * o[oBase + x]) + (wNew * sum) : total == float.NegativeInfinity ? 0f : sum;
            }
        }

        Group.Barrier();
        if (Group.IdxX == 0)
        {
            lse[lseIndex] = p.Merge != 0 ? merged : total;
        }
    }

    /// <summary>Most threads of a merge group (its shared reduction buffer).</summary>
    public const int MergeThreads = 512;

    /// <summary>Most chunks of one launch (the merge keeps their weights in shared memory).</summary>
    public const int MaxChunks = 4096;

    /// <summary>Max or sum over the group's threads, in every thread; thread order fixed (a tree over thread indices).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float GroupReduce(ArrayView<float> shared, float value, bool max)
    {
        Group.Barrier();
        shared[Group.IdxX] = value;
        Group.Barrier();
        for (int width = Group.DimX / 2; width > 0; width /= 2)
        {
            if (Group.IdxX < width)
            {
                float other = shared[Group.IdxX + width];
                float mine = shared[Group.IdxX];
                shared[Group.IdxX] = max ? (other > mine ? other : mine) : mine + other;
            }

            Group.Barrier();
        }

        return shared[0];
    }
}
