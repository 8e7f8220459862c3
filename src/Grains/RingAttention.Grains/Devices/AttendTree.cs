namespace RingAttention.Grains.Devices;

/// <summary>
/// Where an attend sits in a session's merge tree (<see cref="MergeTree"/>): attend <paramref name="Attend"/> of
/// <paramref name="Owner"/> (a session), node <paramref name="Index"/> of <paramref name="Count"/>, and the nodes the
/// placement rule puts on the same device (<paramref name="Expected"/>, itself included), which its turn waits for so
/// that they share it (<see cref="AttendQueue"/>).
/// </summary>
public sealed record AttendTree(string Owner, Guid Attend, int Index, int Count, IReadOnlyList<int> Expected)
{
    /// <summary>Whether <paramref name="other"/> is another node of the same attend.</summary>
    public bool SameAttend(AttendTree? other) => other is not null && other.Attend == Attend && other.Owner == Owner && other.Count == Count;
}
