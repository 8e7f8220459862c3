namespace RingAttention.Contracts;

/// <summary>A snapshot of one job, as the coordinator sees it.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.JobStatus")]
public sealed record JobStatus
{
    [Id(0)] public string JobId { get; init; } = "";

    [Id(1)] public JobState State { get; init; }

    /// <summary>Ring steps finished over all shards (R steps per shard).</summary>
    [Id(2)] public int StepsDone { get; init; }

    [Id(3)] public int StepsTotal { get; init; }

    [Id(4)] public int ShardsDone { get; init; }

    [Id(5)] public int Shards { get; init; }

    /// <summary>Seconds since the job started running.</summary>
    [Id(6)] public double ElapsedSeconds { get; init; }

    /// <summary>Query tokens whose attention is complete, per second of elapsed time.</summary>
    [Id(7)] public double TokensPerSecond { get; init; }

    /// <summary>Why the job was rejected or failed.</summary>
    [Id(8)] public string? Error { get; init; }

    /// <summary>For a rejected job: the field of the spec that broke a rule.</summary>
    [Id(9)] public string? ErrorField { get; init; }

    [Id(10)] public string? OutputPath { get; init; }

    [Id(11)] public RingTotals Totals { get; init; } = RingTotals.Zero;

    /// <summary>Compute backends the shards ran on, e.g. "cpu".</summary>
    [Id(12)] public string Backends { get; init; } = "";

    /// <summary>Total tokens of the job.</summary>
    [Id(13)] public int Tokens { get; init; }

    /// <summary>The spec as the coordinator resolved it (shape read from the input file); null before validation.</summary>
    [Id(14)] public JobSpec? Spec { get; init; }

    /// <summary>Runs of the ring started so far (more than 1 after a fault).</summary>
    [Id(15)] public int Attempts { get; init; }

    /// <summary>Silo of the coordinator grain (for operators and fault drills).</summary>
    [Id(16)] public string? CoordinatorSilo { get; init; }

    /// <summary>Why the job needed more than one ring attempt ("attempt 2/3: silo ... left the cluster", "resumed ..."):
    /// shown with progress while it runs and kept in the final status. Null for a job that ran once.</summary>
    [Id(17)] public string? Note { get; init; }

    /// <summary>When the job started running (UTC <see cref="DateTime.Ticks"/>, the coordinator's clock); 0 before.
    /// With <see cref="RingTotals.RingStartTicks"/> and <see cref="RingTotals.RingEndTicks"/> it splits the elapsed time
    /// into before the ring (placement, activation, inputs), the ring, and after it (outputs, commit).</summary>
    [Id(18)] public long StartedAtTicks { get; init; }

    /// <summary>Each shard of the current attempt: steps, compute and wait time, silo. Empty before the ring starts.</summary>
    [Id(19)] public IReadOnlyList<ShardProgress> ShardDetails { get; init; } = [];

    public double Fraction => StepsTotal == 0 ? 0 : (double)StepsDone / StepsTotal;
}
