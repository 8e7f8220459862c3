using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Jobs;

namespace RingAttention.Grains;

/// <summary>
/// FIFO admission against a per-silo memory budget. Shards are spread round-robin, so a job of R shards on N device
/// silos puts at most ceil(R/N) shards on any silo; its per-silo need is that many shards' buffers. State is in memory:
/// if this grain's silo dies, queued coordinators ask again (their requests are idempotent) and the reservations of
/// running jobs are forgotten until they finish, which can over-admit for one job generation; documented in ADR 5.
/// </summary>
public sealed partial class AdmissionGrain(IOptions<RingAttentionOptions> options, ILogger<AdmissionGrain> logger) : Grain, IAdmissionGrain
{
    private readonly Dictionary<string, long> _running = new(StringComparer.Ordinal);
    private readonly LinkedList<(string JobId, long Bytes)> _queue = new();

    private long Budget => options.Value.EffectiveSiloMemoryBytes;

    private long Reserved => _running.Values.Sum();

    public Task<AdmissionAnswer> RequestAsync(string jobId, long bytesPerSilo)
    {
        if (!_running.ContainsKey(jobId) && !_queue.Any(q => q.JobId == jobId))
        {
            _queue.AddLast((jobId, bytesPerSilo));
        }

        AdmitWhatFits();
        return Task.FromResult(Answer(jobId));
    }

    public Task ReleaseAsync(string jobId)
    {
        if (!_running.Remove(jobId))
        {
            var queued = _queue.FirstOrDefault(q => q.JobId == jobId);
            if (queued.JobId is not null)
            {
                _queue.Remove(queued);
            }
        }

        AdmitWhatFits();
        return Task.CompletedTask;
    }

    /// <summary>Admits from the head of the queue while the head fits; never skips the head (no starvation).</summary>
    private void AdmitWhatFits()
    {
        while (_queue.First is { } head && (_running.Count == 0 || Reserved + head.Value.Bytes <= Budget))
        {
            _queue.RemoveFirst();
            _running[head.Value.JobId] = head.Value.Bytes;
            LogAdmitted(head.Value.JobId, JobMemory.Format(head.Value.Bytes), JobMemory.Format(Reserved), JobMemory.Format(Budget));
            GrainFactory.GetGrain<IJobCoordinatorGrain>(head.Value.JobId).AdmittedAsync().Ignore();
        }
    }

    private AdmissionAnswer Answer(string jobId)
    {
        int ahead = 0;
        foreach (var (queued, _) in _queue)
        {
            if (queued == jobId)
            {
                break;
            }

            ahead++;
        }

        return new AdmissionAnswer { Admitted = _running.ContainsKey(jobId), Ahead = ahead, ReservedBytes = Reserved, BudgetBytes = Budget };
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Admitted job {JobId}: {Bytes} per silo; {Reserved} of {Budget} reserved")]
    private partial void LogAdmitted(string jobId, string bytes, string reserved, string budget);
}
