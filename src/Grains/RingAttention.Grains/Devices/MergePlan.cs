namespace RingAttention.Grains.Devices;

/// <summary>
/// Which partials of one device turn merge into which, on the device, along the session's tree (<see cref="MergeTree"/>):
/// node i takes child c = i + s/2 at level s when everything below that level is already in i (the children before
/// it) and c's whole subtree is in c, both on this turn. Levels go up one at a time, so a child is complete before
/// its parent looks at it, and each node's merges come in the tree's order: the device does a part of the host's
/// tree, in the host's order, never another tree.
/// </summary>
public sealed class MergePlan
{
    private MergePlan(List<(int Target, int Source)> merges, int[] through, bool[] merged)
    {
        Merges = merges;
        Through = through;
        MergedIntoParent = merged;
    }

    /// <summary>(target, source) positions in the turn, in the order to run them.</summary>
    public IReadOnlyList<(int Target, int Source)> Merges { get; }

    /// <summary>Per position: the highest level whose child is merged in (1: none; every attend without a tree: 1).</summary>
    public IReadOnlyList<int> Through { get; }

    /// <summary>Per position: merged into its parent on this turn (it has nothing to answer with).</summary>
    public IReadOnlyList<bool> MergedIntoParent { get; }

    /// <summary>The plan for a turn's attends (null: an attend outside any tree). Of two attends of the same node, the
    /// first takes part; the other answers alone.</summary>
    public static MergePlan For(IReadOnlyList<AttendTree?> trees)
    {
        ArgumentNullException.ThrowIfNull(trees);
        int[] through = Enumerable.Repeat(1, trees.Count).ToArray();
        bool[] merged = new bool[trees.Count];
        var merges = new List<(int, int)>();
        // Position of each node of each attend on this turn (the first attend of a node wins).
        var at = new Dictionary<(Guid, string, int), int>();
        for (int p = 0; p < trees.Count; p++)
        {
            if (trees[p] is { } tree)
            {
                at.TryAdd((tree.Attend, tree.Owner, tree.Index), p);
            }
        }

        int top = trees.Max(t => t is null ? 1 : MergeTree.Span(0, t.Count));
        for (int s = 2; s <= top; s *= 2)
        {
            for (int p = 0; p < trees.Count; p++)
            {
                if (trees[p] is not { } tree || merged[p] || through[p] != s / 2 || MergeTree.Span(tree.Index, tree.Count) < s
                    || at[(tree.Attend, tree.Owner, tree.Index)] != p)
                {
                    continue;
                }

                int child = tree.Index + (s / 2);
                if (child >= tree.Count)
                {
                    through[p] = s; // no child at this level: nothing to wait for
                }
                else if (at.TryGetValue((tree.Attend, tree.Owner, child), out int c) && tree.SameAttend(trees[c])
                    && through[c] >= MergeTree.Span(child, tree.Count))
                {
                    merges.Add((p, c));
                    merged[c] = true;
                    through[p] = s;
                }
            }
        }

        return new MergePlan(merges, through, merged);
    }
}
