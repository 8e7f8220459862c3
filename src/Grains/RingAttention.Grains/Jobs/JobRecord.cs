namespace RingAttention.Grains.Jobs;

/// <summary>
/// What a job's coordinator keeps in grain storage (Redis on a Redis cluster), so that the coordinator survives its
/// silo: the activation that the next call creates elsewhere reads this and resumes the job (a fresh ring attempt
/// from the immutable inputs) instead of forgetting it. The storage's ETag also makes a second activation of the same
/// job lose its first write and stand down, so two coordinators never run one job.
/// </summary>
[GenerateSerializer]
[Alias("RingAttention.JobRecord")]
public sealed class JobRecord
{
    /// <summary>The resolved spec (shape from the input file); null until the job was accepted.</summary>
    [Id(0)] public JobSpec? Spec { get; set; }

    [Id(1)] public JobState State { get; set; }

    /// <summary>Id of the latest ring attempt (0 before the first).</summary>
    [Id(2)] public long AttemptId { get; set; }

    [Id(3)] public int AttemptsUsed { get; set; }

    [Id(4)] public string? Error { get; set; }

    [Id(5)] public string? ErrorField { get; set; }

    /// <summary>Temp output of the latest attempt: a resumed coordinator removes it before starting the next.</summary>
    [Id(6)] public string? PartialPath { get; set; }

    /// <summary>Memory the job reserves on each silo (what admission is asked for again on resume).</summary>
    [Id(7)] public long BytesPerSilo { get; set; }
}
