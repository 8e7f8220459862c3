using Orleans.Concurrency;

namespace RingAttention.Contracts;

/// <summary>
/// The jobs submitted to the cluster, newest first (one activation, key 0): each coordinator registers its job when
/// it accepts it. Kept in memory and bounded (<see cref="Capacity"/>): a list for people and pages; a job's own state
/// lives with its coordinator and survives this directory's loss.
/// </summary>
[Alias("RingAttention.IJobDirectoryGrain")]
public interface IJobDirectoryGrain : IGrainWithIntegerKey
{
    public const int Capacity = 1000;

    Task RegisterAsync(string jobId);

    /// <summary>The newest <paramref name="limit"/> job ids (at most <see cref="Capacity"/>).</summary>
    [ReadOnly]
    Task<IReadOnlyList<string>> ListAsync(int limit);
}
