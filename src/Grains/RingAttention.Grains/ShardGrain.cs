using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Attention;
using RingAttention.Grains.Jobs;
using RingAttention.Grains.Linear;
using RingAttention.Grains.Placement;
using RingAttention.Grains.Ring;
using RingAttention.Grains.Telemetry;
using RingAttention.Grains.Transfer;

namespace RingAttention.Grains;

/// <summary>
/// Shard i of a job. Reentrant so that announcements, probes and cancellation interleave with the ring loop, which
/// runs on this grain's scheduler (it calls the next shard) and sends its kernels to the silo's device.
/// </summary>
[DevicePlacement]
[Reentrant]
public sealed partial class ShardGrain(
    DeviceSet devices,
    Orleans.Runtime.MembershipService.SiloMetadata.ISiloMetadataCache siloMetadata,
    IClusterMembershipService membership,
    BlockStore store,
    DataPlaneClient dataClient,
    DataPlaneServer dataServer,
    ILocalSiloDetails silo,
    IOptions<RingAttentionOptions> options,
    ILogger<ShardGrain> logger) : Grain, IShardGrain
{
    private readonly RingInbox _inbox = new();
    private readonly LinearStateInbox _states = new();
    private static readonly Polly.ResiliencePipeline Announcements = RingResilience.Create();

    /// <summary>Done and failed reports are idempotent (the coordinator ignores a repeat), so transient failures are retried.</summary>
    private static readonly Polly.ResiliencePipeline Reports = RingResilience.Create();
    private CancellationTokenSource? _running;
    private long _attempt = long.MinValue;
    private ShardCondition _condition = new(ShardPhase.Unknown);

    public Task<string> StartAsync(ShardPlan plan)
    {
        string siloAddress = silo.SiloAddress.ToParsableString();
        if (plan.Attempt <= _attempt)
        {
            return Task.FromResult(siloAddress);
        }

        _running?.Cancel();
        _attempt = plan.Attempt;
        _condition = new(ShardPhase.Running);
        _inbox.DropBefore(plan.Attempt);
        _states.DropBefore(plan.Attempt);
        _running = new CancellationTokenSource();
        DelayDeactivation(TimeSpan.FromDays(1));
        _ = RunAsync(plan, _running.Token);
        return Task.FromResult(siloAddress);
    }

    public Task CancelAsync(long attempt)
    {
        if (attempt == _attempt)
        {
            _running?.Cancel();
        }

        return Task.CompletedTask;
    }

    public Task<ShardCondition> ProbeAsync(long attempt) =>
        Task.FromResult(attempt == _attempt ? _condition : new ShardCondition(ShardPhase.Unknown));

    private ComputeDevice DeviceOf(ShardPlan plan) =>
        ShardDevice.Of(devices, siloMetadata, membership, silo.SiloAddress, plan.JobId, plan.Index, plan.Count);

    public Task AnnounceAsync(BlockAnnouncement announcement)
    {
        _inbox.Post(announcement);
        return Task.CompletedTask;
    }

    public Task PostStateAsync(LinearStatePost post)
    {
        _states.Post(post);
        return Task.CompletedTask;
    }

    private async Task RunAsync(ShardPlan plan, CancellationToken ct)
    {
        var coordinator = GrainFactory.GetGrain<IJobCoordinatorGrain>(plan.JobId);
        var next = GrainFactory.GetGrain<IShardGrain>(ShardKeys.ShardKey(plan.JobId, plan.Next, plan.Count));
        var device = DeviceOf(plan);
        // The loop's grain calls always leave from this grain's scheduler, whatever thread its transfers resumed on:
        // from a pool thread a call counts as a client's, which the cluster token refuses.
        var grainScheduler = TaskScheduler.Current;
        Task OnGrain(Func<Task> call) => Task.Factory.StartNew(call, CancellationToken.None, TaskCreationOptions.None, grainScheduler).Unwrap();
        var context = new RingLoopContext(
            device,
            store,
            dataClient,
            _inbox,
            silo.SiloAddress.ToParsableString(),
            dataServer.Endpoint,
            options.Value.StepTimeout,
            // A duplicate announcement is harmless (the inbox keeps the first), so a transient failure is retried.
            announcement => OnGrain(() => Announcements.ExecuteOnContextAsync(() => next.AnnounceAsync(announcement))),
            (steps, totals) => OnGrain(() => coordinator.ReportStepAsync(plan.Index, plan.Attempt, steps, totals)))
        {
            StagingBytes = options.Value.StagingBufferBytes,
            ProcessHandoff = options.Value.ProcessHandoff,
        };
        // A linear-attention shard posts states to the others (to itself through its own inbox); a repeated post is
        // harmless (the inbox keeps the first), so a transient failure is retried.
        IShardLoop loop = plan.Spec.Attention == AttentionKind.Linear
            ? new LinearShardLoop(plan, context, _states, (shard, post) => shard == plan.Index
                ? PostStateAsync(post)
                : OnGrain(() => Announcements.ExecuteOnContextAsync(() =>
                    GrainFactory.GetGrain<IShardGrain>(ShardKeys.ShardKey(plan.JobId, shard, plan.Count)).PostStateAsync(post))))
            : new ShardRingLoop(plan, context);
        using var activity = RingTelemetry.Activities.StartActivity("shard");
        activity?.SetTag("ringattention.job", plan.JobId);
        activity?.SetTag("ringattention.shard", plan.Index);
        try
        {
            LogShardStarted(plan.JobId, plan.Index, plan.Count, device.Name);
            using (var result = await loop.RunAsync(ct))
            {
                var write = Stopwatch.StartNew();
                var times = await Task.Run(() => JobOutput.WriteShardAsync(plan, result, options.Value.StagingBufferBytes, ct), ct);
                loop.AddWriteSeconds(write.Elapsed.TotalSeconds);
                LogShardWrote(plan.JobId, plan.Index, times.TotalSeconds, times.PumpSeconds, times.DownloadSeconds, times.StoreSeconds);
            }

            SetCondition(plan.Attempt, new(ShardPhase.Done));
            await Reports.ExecuteOnContextAsync(() => coordinator.ReportShardDoneAsync(plan.Index, plan.Attempt, loop.Totals, device.Name));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            store.RemoveAttempt(plan.JobId, plan.Attempt);
            LogShardCancelled(plan.JobId, plan.Index);
        }
        catch (Exception e)
        {
            store.RemoveAttempt(plan.JobId, plan.Attempt);
            LogShardFailed(e, plan.JobId, plan.Index);
            string error = e is TimeoutException
                ? $"shard {plan.Index} waited longer than {options.Value.StepTimeout} for a K/V block"
                : $"shard {plan.Index} on {device.Name}: {e.Message}";
            // Kept for the coordinator's probe too: if this report is lost with the coordinator's silo, the next
            // probe still learns the failure within a second.
            SetCondition(plan.Attempt, new(ShardPhase.Failed, error));
            try
            {
                await Reports.ExecuteOnContextAsync(() => coordinator.ReportShardFailedAsync(plan.Index, plan.Attempt, error));
            }
            catch (Exception report) when (RingResilience.IsTransient(report))
            {
                // The coordinator's silo is gone for now; its next activation's probe reads the failure from here.
            }
        }
        finally
        {
            if (_attempt == plan.Attempt)
            {
                // Stay a while so the coordinator's probes find the outcome here rather than a fresh activation.
                DelayDeactivation(TimeSpan.FromMinutes(2));
            }

            ReclaimShardMemory();
        }
    }

    private void SetCondition(long attempt, ShardCondition condition)
    {
        if (attempt == _attempt)
        {
            _condition = condition;
        }
    }

    /// <summary>
    /// A finished shard leaves all its buffers (inputs, accumulators, every K/V block it received) as large-object
    /// garbage, which the GC would otherwise keep until its next full collection: measured on the 3-silo load test,
    /// silos grew to about twice the admitted memory. One compacting full collection per shard (a shard runs for
    /// seconds to hours) returns it, so what admission reserves is what the process holds.
    /// </summary>
    private static void ReclaimShardMemory()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Job {JobId}: shard {Index} of {Count} started on {Device}")]
    private partial void LogShardStarted(string jobId, int index, int count, string device);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information,
        Message = "Job {JobId}: shard {Index} wrote its rows in {Seconds:0.000} s (o {PumpSeconds:0.000} s: downloads {DownloadSeconds:0.000} s, conversion into the file {StoreSeconds:0.000} s)")]
    private partial void LogShardWrote(string jobId, int index, double seconds, double pumpSeconds, double downloadSeconds, double storeSeconds);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Job {JobId}: shard {Index} cancelled")]
    private partial void LogShardCancelled(string jobId, int index);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Job {JobId}: shard {Index} failed")]
    private partial void LogShardFailed(Exception exception, string jobId, int index);
}
