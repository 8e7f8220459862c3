using System.Runtime.CompilerServices;
using RingAttention.Grains;

namespace RingAttention.Client;

/// <summary>A submitted job: its status, a stream of progress, the wait for its end, cancellation.</summary>
public sealed class RingJob
{
    internal RingJob(string id, IJobCoordinatorGrain coordinator)
    {
        Id = id;
        Coordinator = coordinator;
    }

    public string Id { get; }

    internal IJobCoordinatorGrain Coordinator { get; }

    public Task<JobStatus> GetStatusAsync() => Coordinator.GetStatusAsync();

    /// <summary>Stops the job; its output never appears.</summary>
    public Task<JobStatus> CancelAsync() => Coordinator.CancelAsync();

    /// <summary>
    /// Progress snapshots until the job ends (the last one is final). Polls the coordinator every
    /// <paramref name="interval"/> (default 200 ms) and yields only when something changed.
    /// </summary>
    public async IAsyncEnumerable<JobStatus> WatchAsync(TimeSpan? interval = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var period = interval ?? TimeSpan.FromMilliseconds(200);
        JobStatus? last = null;
        while (true)
        {
            var status = await Coordinator.GetStatusAsync().WaitAsync(ct);
            if (last is null || status.State != last.State || status.StepsDone != last.StepsDone)
            {
                yield return status;
            }

            if (status.State.IsFinal())
            {
                yield break;
            }

            last = status;
            await Task.Delay(period, ct);
        }
    }

    /// <summary>Waits for the job to end and returns its final status; throws <see cref="RingJobFailedException"/> unless it completed.</summary>
    public async Task<JobStatus> WaitAsync(CancellationToken ct = default)
    {
        JobStatus? final = null;
        await foreach (var status in WatchAsync(ct: ct))
        {
            final = status;
        }

        return final!.State == JobState.Completed ? final : throw new RingJobFailedException(final);
    }
}

/// <summary>A job that ended without output (failed, cancelled, rejected).</summary>
public sealed class RingJobFailedException(JobStatus status)
    : Exception($"job {status.JobId} {status.State.ToString().ToLowerInvariant()}{(status.Error is null ? "" : ": " + status.Error)}")
{
    public JobStatus Status { get; } = status;
}
