using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RingAttention.Attention;
using RingAttention.Grains.Hosting;
using RingAttention.Grains.Jobs;
using RingAttention.Grains.Ring;
using RingAttention.Tensors;

namespace RingAttention.Grains;

/// <summary>
/// One per job: validates the spec before anything is scheduled, plans the shards, starts them, follows their
/// progress, and makes the output visible (rename) only when every shard has written its rows.
/// </summary>
public sealed partial class JobCoordinatorGrain(IOptions<RingAttentionOptions> options, ILogger<JobCoordinatorGrain> logger)
    : Grain, IJobCoordinatorGrain
{
    private readonly Stopwatch _clock = new();
    private JobState _state = JobState.Unknown;
    private JobSpec? _spec;
    private string? _partialPath;
    private string? _error;
    private string? _errorField;
    /// <summary>Attempt of the ring this coordinator runs; re-running shards after a fault would start attempt 1.</summary>
    private const int CurrentAttempt = 0;
    private int[] _steps = [];
    private bool[] _done = [];
    private RingTotals[] _totals = [];
    private readonly SortedSet<string> _backends = new(StringComparer.Ordinal);

    private string JobId => this.GetPrimaryKeyString();

    public async Task<JobStatus> SubmitAsync(JobSpec spec)
    {
        if (_state != JobState.Unknown)
        {
            return Status();
        }

        JobSpec resolved;
        try
        {
            resolved = await Task.Run(() => JobValidation.Resolve(spec, options.Value));
        }
        catch (SpecValidationException e)
        {
            return Reject(e.Field, e.Reason);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Reject("inputs", e.Message);
        }

        var spans = ShardLayouts.Plan(resolved.Layout, resolved.Tokens, resolved.Shards);
        _spec = resolved;
        _partialPath = JobOutput.PartialPath(resolved.OutputPath, JobId);
        try
        {
            await Task.Run(() => JobOutput.Create(resolved, _partialPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Reject("output", $"cannot create output beside '{resolved.OutputPath}': {e.Message}");
        }

        int shards = resolved.Shards;
        _steps = new int[shards];
        _done = new bool[shards];
        _totals = Enumerable.Repeat(RingTotals.Zero, shards).ToArray();
        _state = JobState.Running;
        _clock.Start();
        LogJobStarted(JobId, resolved.Tokens, resolved.Heads, resolved.KvHeads, resolved.HeadDim, resolved.DType, shards, resolved.Layout);

        string token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        try
        {
            await Task.WhenAll(Enumerable.Range(0, shards).Select(i => Shard(i).StartAsync(new ShardPlan
            {
                JobId = JobId,
                Index = i,
                Count = shards,
                Spec = resolved,
                ShardSpans = spans,
                PartialOutputPath = _partialPath,
                Token = token,
                Attempt = CurrentAttempt,
            })));
        }
        catch (Exception e)
        {
            await FailAsync($"could not start the shards: {e.Message}");
        }

        return Status();
    }

    public Task<JobStatus> GetStatusAsync() => Task.FromResult(Status());

    public async Task<JobStatus> CancelAsync()
    {
        if (_state == JobState.Running)
        {
            await StopAsync(JobState.Cancelled, null);
            LogJobCancelled(JobId);
        }

        return Status();
    }

    public Task ReportStepAsync(int shard, int attempt, int stepsDone, RingTotals totals)
    {
        if (IsCurrent(shard, attempt))
        {
            _steps[shard] = Math.Max(_steps[shard], stepsDone);
            _totals[shard] = totals;
        }

        return Task.CompletedTask;
    }

    public async Task ReportShardDoneAsync(int shard, int attempt, RingTotals totals, string backend)
    {
        if (!IsCurrent(shard, attempt))
        {
            return;
        }

        _done[shard] = true;
        _steps[shard] = _spec!.Shards;
        _totals[shard] = totals;
        _backends.Add(backend);
        if (_done.All(d => d))
        {
            try
            {
                await Task.Run(() => SafetensorsSharedOutput.Commit(_partialPath!, _spec.OutputPath));
                _state = JobState.Completed;
                _clock.Stop();
                LogJobCompleted(JobId, _clock.Elapsed.TotalSeconds);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await FailAsync($"could not move the output into place at '{_spec.OutputPath}': {e.Message}");
            }
        }
    }

    public async Task ReportShardFailedAsync(int shard, int attempt, string error)
    {
        if (IsCurrent(shard, attempt))
        {
            await FailAsync(error);
        }
    }

    private bool IsCurrent(int shard, int attempt) =>
        _state == JobState.Running && attempt == CurrentAttempt && shard >= 0 && shard < _done.Length;

    private IShardGrain Shard(int index) => GrainFactory.GetGrain<IShardGrain>(RingStreams.ShardKey(JobId, index));

    private JobStatus Reject(string field, string reason)
    {
        _state = JobState.Rejected;
        _errorField = field;
        _error = reason;
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
        _state = final;
        _error = error;
        _clock.Stop();
        await Task.WhenAll(Enumerable.Range(0, _done.Length).Select(async i =>
        {
            try
            {
                await Shard(i).CancelAsync(CurrentAttempt);
            }
            catch (Exception e)
            {
                LogCancelFailed(e, JobId, i);
            }
        }));
        if (_partialPath is not null)
        {
            await Task.Run(() => SafetensorsSharedOutput.Abort(_partialPath));
        }
    }

    private JobStatus Status()
    {
        double elapsed = _clock.Elapsed.TotalSeconds;
        int shards = _spec?.Shards ?? 0;
        int stepsDone = _steps.Sum();
        int stepsTotal = shards * shards;
        int tokens = _spec?.Tokens ?? 0;
        double fraction = stepsTotal == 0 ? 0 : (double)stepsDone / stepsTotal;
        return new JobStatus
        {
            JobId = JobId,
            State = _state,
            StepsDone = stepsDone,
            StepsTotal = stepsTotal,
            ShardsDone = _done.Count(d => d),
            Shards = shards,
            ElapsedSeconds = elapsed,
            TokensPerSecond = elapsed > 0 ? tokens * fraction / elapsed : 0,
            Error = _error,
            ErrorField = _errorField,
            OutputPath = _state == JobState.Completed ? _spec?.OutputPath : null,
            Totals = _totals.Aggregate(RingTotals.Zero, (sum, t) => sum.Add(t)),
            Backends = string.Join(",", _backends),
            Tokens = tokens,
            Spec = _spec,
        };
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Job {JobId} started: {Tokens} tokens, {Heads}/{KvHeads} heads, dim {HeadDim}, {DType}, {Shards} shards ({Layout})")]
    private partial void LogJobStarted(string jobId, int tokens, int heads, int kvHeads, int headDim, ElementType dType, int shards, ShardLayout layout);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Job {JobId} completed in {Seconds:0.000} s")]
    private partial void LogJobCompleted(string jobId, double seconds);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Job {JobId} rejected: {Field}: {Reason}")]
    private partial void LogJobRejected(string jobId, string field, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Job {JobId} failed: {Error}")]
    private partial void LogJobFailed(string jobId, string error);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Job {JobId} cancelled")]
    private partial void LogJobCancelled(string jobId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Job {JobId}: could not cancel shard {Index}")]
    private partial void LogCancelFailed(Exception exception, string jobId, int index);
}
