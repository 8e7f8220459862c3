using System.Runtime.CompilerServices;
using Polly;

namespace RingAttention.Client;

/// <summary>A submitted job: its status, a stream of progress, the wait for its end, cancellation.</summary>
public sealed class RingJob
{
    private readonly ResiliencePipeline _calls;

    internal RingJob(string id, IJobCoordinatorGrain coordinator, ResiliencePipeline calls, JobSpec? spec)
    {
        Id = id;
        Coordinator = coordinator;
        _calls = calls;
        Spec = spec;
    }

    public string Id { get; }

    /// <summary>What was submitted, when this handle submitted it: used to resubmit if the coordinator is lost.</summary>
    public JobSpec? Spec { get; }

    internal IJobCoordinatorGrain Coordinator { get; }

    /// <summary>Times this handle submitted the job again because its coordinator had been lost with its silo.</summary>
    public int Resubmissions { get; private set; }

    /// <summary>
    /// The job's status. Transient cluster failures are retried. If the coordinator's silo died, its next activation
    /// knows nothing of the job (state Unknown); a handle that submitted the job submits it again under the same id,
    /// which re-runs it from its immutable inputs.
    /// </summary>
    public async Task<JobStatus> GetStatusAsync(CancellationToken ct = default)
    {
        var status = await _calls.ExecuteAsync(async _ => await Coordinator.GetStatusAsync(), ct);
        if (status.State == JobState.Unknown && Spec is not null)
        {
            status = await _calls.ExecuteAsync(async _ => await Coordinator.SubmitAsync(Spec), ct);
            Resubmissions++;
        }

        return status;
    }

    /// <summary>Stops the job; its output never appears.</summary>
    public async Task<JobStatus> CancelAsync(CancellationToken ct = default) =>
        await _calls.ExecuteAsync(async _ => await Coordinator.CancelAsync(), ct);

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
            var status = await GetStatusAsync(ct);
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
