using Orleans.Concurrency;

namespace RingAttention.Contracts;

/// <summary>One per job (key = job id): validates, plans shards, starts the ring, tracks it, assembles the output.</summary>
[Alias("RingAttention.IJobCoordinatorGrain")]
public interface IJobCoordinatorGrain : IGrainWithStringKey
{
    /// <summary>
    /// Validates <paramref name="spec"/> (shape, files, non-finite inputs, memory limit) and starts the job.
    /// A bad spec returns state <see cref="JobState.Rejected"/> with the field and the rule; nothing is scheduled then.
    /// Submitting the same id again returns the existing job's status.
    /// </summary>
    [ResponseTimeout("00:10:00")]
    Task<JobStatus> SubmitAsync(JobSpec spec);

    /// <summary>
    /// A snapshot, answered from memory and interleaved with the coordinator's other turns (a watchdog tick that waits
    /// on a silent shard's probe, an attempt that is starting), so it never waits behind them; hence the short timeout,
    /// which lets a client notice a frozen or dead silo quickly.
    /// </summary>
    [AlwaysInterleave]
    [ResponseTimeout("00:00:03")]
    Task<JobStatus> GetStatusAsync();

    /// <summary>Stops every shard and removes the partial output. No effect on a finished job.</summary>
    Task<JobStatus> CancelAsync();

    /// <summary>Called by shard <paramref name="shard"/> after each ring step.</summary>
    [OneWay]
    Task ReportStepAsync(int shard, long attempt, int stepsDone, RingTotals totals);

    /// <summary>Called by a shard when its rows of the output are written.</summary>
    Task ReportShardDoneAsync(int shard, long attempt, RingTotals totals, string backend);

    /// <summary>Called by the admission grain when a queued job's memory fits.</summary>
    [OneWay]
    Task AdmittedAsync();

    /// <summary>Called by a shard that cannot go on.</summary>
    Task ReportShardFailedAsync(int shard, long attempt, string error);
}
