using RingAttention.Attention;

namespace RingAttention.Contracts.Sessions;

/// <summary>
/// What one shard of a session must hold, sent with every call so that a shard re-activated on another silo (its old
/// one died, or it was evicted while idle) reloads itself from the durable segments before it answers: the session's
/// shape and, in order, every piece of every segment that belongs to this shard.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionShardView")]
public sealed record SessionShardView
{
    [Id(0)] public SessionSpec Spec { get; init; } = new();

    [Id(1)] public int Index { get; init; }

    /// <summary>Pieces in append order; the shard fills its pages with them in this order, so pages are the same on
    /// every activation (an attend after a reload is bitwise the one before).</summary>
    [Id(2)] public IReadOnlyList<SegmentPiece> Pieces { get; init; } = [];

    /// <summary>Tokens of the whole session (the attention spec's length).</summary>
    [Id(3)] public int Tokens { get; init; }
}

/// <summary>Rows <c>[Row, Row + Positions.Count)</c> of segment file <see cref="Path"/> (k and v), at global positions
/// <see cref="Positions"/>.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SegmentPiece")]
public sealed record SegmentPiece(
    [property: Id(0)] string Path,
    [property: Id(1)] int Segment,
    [property: Id(2)] int Row,
    [property: Id(3)] TokenSpan Positions);
