using System.Numerics;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// The answers of every node of a session's merge tree, each asked on its own (<see cref="ISessionShardGrain.AttendNodeAsync"/>),
/// merged on the host along the tree (<see cref="MergeTree"/>) in the order the shards themselves merge them
/// (<see cref="ISessionShardGrain.AttendAsync"/>): each node's partial, then each child's merged subtree in
/// <see cref="MergeTree.Children"/>' order, skipping the children its device merged already. So an attend whose nodes
/// were asked at once answers the bits the tree would.
/// </summary>
internal static class TreeAnswers
{
    /// <summary>
    /// The root's merged answer (with the tree's merge rounds), the first refusal, or null when a node answered as merged
    /// into a parent whose answer does not hold it (the parent was asked again, on another device, after it merged): the
    /// caller runs the attend again under a new name.
    /// </summary>
    public static SessionAnswer? Merge(IReadOnlyList<SessionAnswer> nodes)
    {
        if (nodes.FirstOrDefault(a => a.Error is not null) is { } refused)
        {
            return refused;
        }

        int count = nodes.Count;
        int span = MergeTree.Span(0, count);
        if (Subtree(nodes, 0, span) is not { } root)
        {
            return null;
        }

        int rounds = MergeTree.Children(0, span, count).Select(c => BitOperations.Log2((uint)c.Level)).DefaultIfEmpty(0).Max();
        return PartialAnswer.Of(root, nodes[0].FirstPosition) with { MergeRounds = rounds };
    }

    private static PartialResult? Subtree(IReadOnlyList<SessionAnswer> nodes, int index, int span)
    {
        var own = nodes[index];
        if (own.MergedIntoParent)
        {
            return null;
        }

        var result = PartialResult.ToOverwrite(own.Rows, own.Heads, own.HeadDim);
        own.Output.CopyTo(result.Output, 0);
        own.Lse.CopyTo(result.Lse, 0);
        foreach (var (level, child) in MergeTree.Children(index, span, nodes.Count))
        {
            if (level <= own.MergedThrough)
            {
                continue;
            }

            if (Subtree(nodes, child, level / 2) is not { } other)
            {
                return null;
            }

            SoftmaxMerge.MergeInto(result, other);
        }

        return result;
    }
}
