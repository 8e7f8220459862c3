using System.Numerics;

namespace RingAttention.Grains.Devices;

/// <summary>
/// The tree a session's partials merge along (ISessionShardGrain.AttendAsync): node i of R covers shards
/// [i, i + span(i)) and merges into its own partial the subtree of child i + s/2 for s = 2, 4, ..., span(i), in that
/// order, the root spanning the next power of two. One definition, because the shards merge along it on the host and
/// a device merges along it for the shards it holds (<see cref="MergePlan"/>): the order of the merges, and so the
/// bits of the answer, is the tree's whatever part of it ran where.
/// </summary>
public static class MergeTree
{
    /// <summary>The span of node <paramref name="index"/> of <paramref name="count"/>: the root's is the next power of two
    /// of the count, another's the lowest set bit of its index.</summary>
    public static int Span(int index, int count) => index == 0 ? (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, count)) : index & -index;

    /// <summary>The children of node <paramref name="index"/> that exist, with the level s each is merged at, in merge order.</summary>
    public static IEnumerable<(int Level, int Child)> Children(int index, int span, int count)
    {
        for (int s = 2; s <= span; s *= 2)
        {
            int child = index + (s / 2);
            if (child < count)
            {
                yield return (s, child);
            }
        }
    }
}
