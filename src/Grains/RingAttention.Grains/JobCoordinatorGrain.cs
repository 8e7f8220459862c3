using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using RingAttention.Attention;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Jobs;
using RingAttention.Grains.Placement;
using RingAttention.Grains.Ring;
using RingAttention.Grains.Telemetry;
using RingAttention.Grains.Transfer;
using RingAttention.Tensors;

namespace RingAttention.Grains;

/// <summary>
/// One per job: validates the spec before anything is scheduled, plans the shards, starts a ring attempt, follows
/// its progress, and makes the output visible (rename) only when every shard of the attempt has written its rows.
/// A shard that fails or a silo that leaves the cluster starts the next attempt (inputs are immutable and the merge
/// is order-free, so a re-run gives the same answer), up to <see cref="RingAttentionOptions.MaxAttempts"/>.
/// </summary>
public sealed partial class JobCoordinatorGrain(
    [PersistentState("job", JobStorage.Name)] IPersistentState<JobRecord> record,
    IOptions<RingAttentionOptions> options,
    IClusterMembershipService membership,
    Orleans.Runtime.MembershipService.SiloMetadata.ISiloMetadataCache siloMetadata,
    ILogger<JobCoordinatorGrain> logger) : Grain, IJobCoordinatorGrain
{
    private readonly Stopwatch _clock = new();
    private long _startedAtTicks;
    private readonly ResiliencePipeline _calls = RingResilience.Create();
    private JobState _state = JobState.Unknown;
    private JobSpec? _spec;
    private IReadOnlyList<IReadOnlyList<TokenSpan>> _spans = [];
    private RingAttempt? _attempt;
    private int _attemptsUsed;
    private string? _error;
    private string? _errorField;
    private IGrainTimer? _watchdog;
    private long _bytesPerSilo;
    /// <summary>Why the job is not on its first plain run (a retry, a resume), shown with progress until it ends.</summary>
    private string? _note;

    /// <summary>Why the job waits in the admission queue; cleared when it runs.</summary>
    private string? _queueNote;
    private ShardWatch? _watch;
    private string? _stalePartial;
    private IDisposable? _partialHold;
    private readonly Stopwatch _sinceClientContact = Stopwatch.StartNew();

    private string JobId => this.GetPrimaryKeyString();

    public async Task<JobStatus> SubmitAsync(JobSpec spec)
    {
        _sinceClientContact.Restart();
        if (_state != JobState.Unknown)
        {
            return Status();
        }

        var active = membership.CurrentSnapshot.Members.Where(m => m.Value.Status == SiloStatus.Active).Select(m => m.Key).ToList();
        var cluster = new ClusterView(active.Count, DeviceSlots.Of(siloMetadata, active));
        ValidatedJob job;
        try
        {
            job = await Task.Run(() => JobValidation.Resolve(spec, options.Value, cluster));
        }
        catch (SpecValidationException e)
        {
            return Reject(e.Field, e.Reason);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Reject("inputs", e.Message);
        }

        var resolved = job.Spec;
        _bytesPerSilo = job.BytesPerSilo;
        _spec = resolved;
        _spans = job.Spans;
        // Temp outputs of this output name that nobody holds are leftovers of a killed client or silo.
        await Task.Run(() => StalePartials.SweepBeside(resolved.OutputPath));
        _state = JobState.Queued;
        if (!await SaveAsync())
        {
            return Status();
        }

        // Listed for people and pages; the listing is best effort and never holds up or fails the job.
        _ = GrainFactory.GetGrain<IJobDirectoryGrain>(0).RegisterAsync(JobId).ContinueWith(
            t => t.Exception?.Handle(_ => true), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        StartWatchdog();
        await RequestAdmissionAsync();
        return Status();
    }

    private void StartWatchdog() =>
        _watchdog = this.RegisterGrainTimer(WatchAsync, new GrainTimerCreationOptions(options.Value.HealthCheckPeriod, options.Value.HealthCheckPeriod)
        {
            KeepAlive = true,
        });

    public async Task AdmittedAsync()
    {
        if (_state == JobState.Queued)
        {
            await BeginRunningAsync();
        }
    }

    private IAdmissionGrain Admission => GrainFactory.GetGrain<IAdmissionGrain>(IAdmissionGrain.Key);

    /// <summary>Asks for memory (idempotent); runs at once when it fits, else waits for <see cref="AdmittedAsync"/>.</summary>
    private async Task RequestAdmissionAsync()
    {
        var answer = await _calls.ExecuteOnContextAsync(() => Admission.RequestAsync(JobId, _bytesPerSilo));
        if (answer.Admitted)
        {
            await BeginRunningAsync();
        }
        else
        {
            _queueNote = $"queued for memory: {answer.Ahead} jobs ahead; {JobMemory.Format(answer.ReservedBytes)} of {JobMemory.Format(answer.BudgetBytes)} " +
                $"per silo reserved, this job needs {JobMemory.Format(_bytesPerSilo)}";
        }
    }

    private async Task BeginRunningAsync()
    {
        var spec = _spec!;
        _state = JobState.Running;
        _queueNote = null;
        _clock.Start();
        _startedAtTicks = _startedAtTicks == 0 ? DateTime.UtcNow.Ticks : _startedAtTicks;
        LogJobStarted(JobId, spec.Tokens, spec.Heads, spec.KvHeads, spec.HeadDim, spec.DType, spec.Shards, spec.Layout);
        await StartAttemptAsync();
    }

    public Task<JobStatus> GetStatusAsync()
    {
        _sinceClientContact.Restart();
        return Task.FromResult(Status());
    }

    public async Task<JobStatus> CancelAsync()
    {
        if (_state is JobState.Running or JobState.Queued)
        {
            await StopAsync(JobState.Cancelled, null);
            LogJobCancelled(JobId);
        }

        return Status();
    }

    public Task ReportStepAsync(int shard, long attempt, int stepsDone, RingTotals totals)
    {
        if (IsCurrent(shard, attempt))
        {
            _attempt!.Step(shard, stepsDone, totals);
        }

        return Task.CompletedTask;
    }

    public async Task ReportShardDoneAsync(int shard, long attempt, RingTotals totals, string backend)
    {
        if (!IsCurrent(shard, attempt))
        {
            return;
        }

        var current = _attempt!;
        current.Done(shard, totals, backend);
        if (!current.AllDone)
        {
            return;
        }

        try
        {
            await Task.Run(() => OutputTarget.Commit(_spec!, current.PartialPath));
            await FinishAsync(JobState.Completed, null);
            RingTelemetry.QueryTokens.Add(_spec!.Tokens);
            LogJobCompleted(JobId, _clock.Elapsed.TotalSeconds, _attemptsUsed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SpecValidationException)
        {
            await FailAsync($"could not move the output into place at '{_spec!.OutputPath}': {(e is SpecValidationException v ? v.Reason : e.Message)}");
        }
    }

    public async Task ReportShardFailedAsync(int shard, long attempt, string error)
    {
        if (IsCurrent(shard, attempt))
        {
            await RetryOrFailAsync(error);
        }
    }

    private bool IsCurrent(int shard, long attempt) =>
        _state == JobState.Running && _attempt is { } current && current.Id == attempt && current.Has(shard);

    private IShardGrain Shard(int index) => GrainFactory.GetGrain<IShardGrain>(ShardKeys.ShardKey(JobId, index, _spec!.Shards));

    /// <summary>Starts a fresh run of the whole ring; shards of the previous attempt stop when their grain is restarted.</summary>
    private async Task StartAttemptAsync()
    {
        var spec = _spec!;
        string? previousPartial = _attempt?.PartialPath ?? _stalePartial;
        long id = RingAttempt.NextId(Math.Max(_attempt?.Id ?? 0, record.State.AttemptId));
        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var attempt = new RingAttempt(id, spec.Shards, JobOutput.PartialPath(spec.OutputPath, JobId, id), token);
        _attempt = attempt;
        _attemptsUsed++;
        _watch = new ShardWatch(spec.Shards);
        _stalePartial = null;
        if (!await SaveAsync())
        {
            return;
        }
        using var activity = RingTelemetry.Activities.StartActivity("start ring attempt");
        activity?.SetTag("ringattention.job", JobId);
        activity?.SetTag("ringattention.attempt", _attemptsUsed);
        try
        {
            ReleasePartialHold();
            if (previousPartial is not null)
            {
                await Task.Run(() => SafetensorsSharedOutput.Abort(previousPartial));
            }

            _partialHold = await Task.Run(() => JobOutput.Create(spec, JobId, attempt.PartialPath));

            await Task.WhenAll(Enumerable.Range(0, spec.Shards).Select(async i =>
            {
                var plan = new ShardPlan
                {
                    JobId = JobId,
                    Index = i,
                    Count = spec.Shards,
                    Spec = spec,
                    ShardSpans = _spans,
                    QuerySpans = ShardLayouts.QueryPlan(spec),
                    PartialOutputPath = attempt.PartialPath,
                    Token = token,
                    Attempt = id,
                };
                attempt.Silos[i] = await _calls.ExecuteOnContextAsync(() => Shard(i).StartAsync(plan));
            }));
        }
        catch (Exception e) when (_attempt == attempt)
        {
            await RetryOrFailAsync($"could not start the shards: {e.Message}");
        }
    }

    private async Task RetryOrFailAsync(string reason)
    {
        if (_state != JobState.Running)
        {
            return;
        }

        if (_attemptsUsed >= options.Value.MaxAttempts)
        {
            await FailAsync($"{reason} (gave up after {_attemptsUsed} attempts)");
            return;
        }

        LogRetry(JobId, _attemptsUsed + 1, reason);
        _note = $"attempt {_attemptsUsed + 1}/{options.Value.MaxAttempts}: {reason}";
        await CancelShardsAsync(_attempt!);
        await StartAttemptAsync();
    }

    private JobStatus Reject(string field, string reason)
    {
        _errorField = field;
        Finish(JobState.Rejected, reason);
        LogJobRejected(JobId, field, reason);
        return Status();
    }

    private async Task FailAsync(string error)
    {
        if (_state == JobState.Running)
        {
            LogJobFailed(JobId, error);
            await StopAsync(JobState.Failed, error);
        }
    }

    /// <summary>Ends a running job without output: tells every shard to stop and removes the partial file.</summary>
    private async Task StopAsync(JobState final, string? error)
    {
        await FinishAsync(final, error);
        if (_attempt is { } attempt)
        {
            await CancelShardsAsync(attempt);
            await Task.Run(() => SafetensorsSharedOutput.Abort(attempt.PartialPath));
        }
    }

    private void Finish(JobState final, string? error)
    {
        if (_state is JobState.Running or JobState.Queued)
        {
            Admission.ReleaseAsync(JobId).Ignore();
        }

        _state = final;
        _error = error;
        _queueNote = null;
        ReleasePartialHold();
        _clock.Stop();
        _watchdog?.Dispose();
        RingTelemetry.Jobs.Add(1, new KeyValuePair<string, object?>("outcome", final.ToString().ToLowerInvariant()));
    }

    private void ReleasePartialHold()
    {
        _partialHold?.Dispose();
        _partialHold = null;
    }

    /// <summary>Ends the job and records the end, so a later activation answers it instead of running the job again.</summary>
    private async Task FinishAsync(JobState final, string? error)
    {
        Finish(final, error);
        await SaveAsync();
    }

    private async Task CancelShardsAsync(RingAttempt attempt) =>
        await Task.WhenAll(Enumerable.Range(0, attempt.Shards).Select(async i =>
        {
            try
            {
                await Shard(i).CancelAsync(attempt.Id);
            }
            catch (Exception e)
            {
                // Its silo may be the one that died; the shard is gone then, which is what cancelling wanted.
                LogCancelFailed(e, JobId, i);
            }
        }));

    private JobStatus Status()
    {
        double elapsed = _clock.Elapsed.TotalSeconds;
        int shards = _spec?.Shards ?? 0;
        int stepsTotal = shards * shards;
        int stepsDone = _state == JobState.Completed ? stepsTotal : _attempt?.StepsDone ?? 0;
        int tokens = _spec?.Tokens ?? 0;
        int queries = _spec?.Queries ?? 0;
        double fraction = stepsTotal == 0 ? 0 : (double)stepsDone / stepsTotal;
        return new JobStatus
        {
            JobId = JobId,
            State = _state,
            StepsDone = stepsDone,
            StepsTotal = stepsTotal,
            ShardsDone = _attempt?.ShardsDone ?? 0,
            Shards = shards,
            ElapsedSeconds = elapsed,
            TokensPerSecond = elapsed > 0 ? queries * fraction / elapsed : 0,
            Error = _error ?? _queueNote,
            Note = _note,
            ErrorField = _errorField,
            OutputPath = _state == JobState.Completed ? _spec?.OutputPath : null,
            Totals = _attempt?.Totals ?? RingTotals.Zero,
            Backends = _attempt?.Backends ?? "",
            Tokens = tokens,
            Spec = _spec,
            Attempts = _attemptsUsed,
            CoordinatorSilo = RuntimeIdentity,
            StartedAtTicks = _startedAtTicks,
            ShardDetails = _attempt?.Progress() ?? [],
        };
    }
}
