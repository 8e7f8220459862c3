using Orleans.Concurrency;

namespace RingAttention.Contracts;

/// <summary>
/// The cluster's memory admission (one grain, key <see cref="Key"/>): a job runs only when its share of host memory
/// fits on the silos beside the jobs already running; otherwise it waits in a FIFO queue, so a large job is never
/// overtaken forever by smaller ones.
/// </summary>
[Alias("RingAttention.IAdmissionGrain")]
public interface IAdmissionGrain : IGrainWithStringKey
{
    public const string Key = "cluster";

    /// <summary>
    /// Queues the job (idempotent) and answers whether it may run now and its place in the queue. When it is admitted
    /// later, the admission grain calls <see cref="IJobCoordinatorGrain.AdmittedAsync"/>.
    /// </summary>
    Task<AdmissionAnswer> RequestAsync(string jobId, long bytesPerSilo);

    /// <summary>Returns a job's reservation (or removes it from the queue) and admits whoever now fits.</summary>
    [OneWay]
    Task ReleaseAsync(string jobId);
}

[GenerateSerializer]
[Immutable]
[Alias("RingAttention.AdmissionAnswer")]
public sealed record AdmissionAnswer
{
    [Id(0)] public bool Admitted { get; init; }

    /// <summary>Jobs ahead of this one in the queue (0 when admitted).</summary>
    [Id(1)] public int Ahead { get; init; }

    /// <summary>Bytes per silo reserved by running jobs, and the budget, for the status message.</summary>
    [Id(2)] public long ReservedBytes { get; init; }

    [Id(3)] public long BudgetBytes { get; init; }
}
