namespace RingAttention.Contracts;

/// <summary>One shard of a job's current ring attempt, as its last report said (the jobs page draws these).</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.ShardProgress")]
public sealed record ShardProgress
{
    [Id(0)] public int Index { get; init; }

    /// <summary>Silo the shard started on; null until it reported.</summary>
    [Id(1)] public string? Silo { get; init; }

    /// <summary>Ring steps it finished (of <see cref="JobStatus.Shards"/>).</summary>
    [Id(2)] public int StepsDone { get; init; }

    /// <summary>Its rows of the output are written.</summary>
    [Id(3)] public bool Done { get; init; }

    /// <summary>Seconds in kernels so far.</summary>
    [Id(4)] public double ComputeSeconds { get; init; }

    /// <summary>Seconds waiting for K/V blocks or states from its neighbours so far.</summary>
    [Id(5)] public double WaitSeconds { get; init; }
}
