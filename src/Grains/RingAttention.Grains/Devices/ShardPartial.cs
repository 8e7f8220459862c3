using RingAttention.Kernels;

namespace RingAttention.Grains.Devices;

/// <summary>
/// A tree node's answer from its device turn: its partial with the subtrees of its children at levels up to
/// <paramref name="Through"/> already merged in on the device (1: its own pages only), or, when its parent shared the
/// turn and merged it, no result (<paramref name="Result"/> null): its partial is in the parent's.
/// </summary>
public sealed record ShardPartial(PartialResult? Result, int Through)
{
    public bool MergedIntoParent => Result is null;
}
