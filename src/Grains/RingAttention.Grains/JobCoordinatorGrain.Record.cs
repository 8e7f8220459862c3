using RingAttention.Grains.Jobs;
using RingAttention.Grains.Ring;

namespace RingAttention.Grains;

/// <summary>The coordinator's durable record (ADR 9): resume after a silo loss, stand down when another activation owns the job.</summary>
public sealed partial class JobCoordinatorGrain
{
    /// <summary>
    /// Reads the job's record. A job that was queued or running when its previous coordinator's silo left resumes:
    /// it asks for admission again and starts a fresh ring attempt (the old attempt's temp output is removed first).
    /// A finished job answers its final status from the record.
    /// </summary>
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var saved = record.State;
        if (saved.Spec is not { } spec || saved.State == JobState.Unknown)
        {
            return Task.CompletedTask;
        }

        _spec = spec;
        _attemptsUsed = saved.AttemptsUsed;
        _error = saved.Error;
        _errorField = saved.ErrorField;
        _bytesPerSilo = saved.BytesPerSilo;
        if (saved.State.IsFinal())
        {
            _state = saved.State;
            return Task.CompletedTask;
        }

        _spans = ShardLayouts.Plan(spec.Layout, spec.Tokens, spec.Shards);
        _stalePartial = saved.PartialPath;
        _state = JobState.Queued;
        _note = $"resumed after attempt {saved.AttemptsUsed}: the job's coordinator moved to this silo";
        LogJobResumed(JobId, saved.AttemptsUsed);
        StartWatchdog();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Writes the job's record. False when another activation of this job wrote first (the storage's ETag changed):
    /// that one owns the job now, so this one stands down without touching shards or files. A store that is down
    /// (Redis restarting) does not stop the job: it runs on, only without a record to resume from until the next write.
    /// </summary>
    private async Task<bool> SaveAsync()
    {
        var saved = record.State;
        saved.Spec = _spec;
        saved.State = _state;
        saved.AttemptId = _attempt?.Id ?? saved.AttemptId;
        saved.AttemptsUsed = _attemptsUsed;
        saved.Error = _error;
        saved.ErrorField = _errorField;
        saved.PartialPath = _attempt?.PartialPath ?? saved.PartialPath;
        saved.BytesPerSilo = _bytesPerSilo;
        try
        {
            await record.WriteStateAsync();
            return true;
        }
        catch (Orleans.Storage.InconsistentStateException)
        {
            _state = JobState.Unknown;
            _watchdog?.Dispose();
            LogSuperseded(JobId);
            DeactivateOnIdle();
            return false;
        }
        catch (Exception e) when (e is not Orleans.Storage.InconsistentStateException)
        {
            LogRecordNotSaved(e, JobId);
            return true;
        }
    }
}
