namespace RingAttention.Contracts;

/// <summary>Where a shard's ring attempt stands, as the shard grain itself knows it.</summary>
public enum ShardPhase
{
    /// <summary>This activation never ran the attempt: the grain was re-activated (its silo left) or never started.</summary>
    Unknown,
    Running,
    Done,
    Failed,
}

/// <summary>The answer to the coordinator's probe: the phase of the asked attempt, and the error of a failed one.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.ShardCondition")]
public sealed record ShardCondition([property: Id(0)] ShardPhase Phase, [property: Id(1)] string? Error = null);
