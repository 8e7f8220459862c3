using RingAttention.Grains.Ring;

namespace RingAttention.Grains;

/// <summary>The coordinator's watchdog: admission retries, the client lease, membership and shard probes.</summary>
public sealed partial class JobCoordinatorGrain
{
    /// <summary>
    /// Timer. Queued: ask for admission again (the admission grain may have lost its state with its silo).
    /// Running: a shard whose silo is shutting down or dead will never finish; start the next attempt.
    /// </summary>
    private async Task WatchAsync(CancellationToken ct)
    {
        if (_state == JobState.Queued)
        {
            await RequestAdmissionAsync();
            return;
        }

        if (_state != JobState.Running || _attempt is not { } attempt)
        {
            return;
        }

        if (_spec!.ClientLeaseSeconds is int lease && _sinceClientContact.Elapsed.TotalSeconds > lease)
        {
            LogLeaseExpired(JobId, lease);
            await StopAsync(JobState.Cancelled,
                $"no client asked for the job's status for {lease} s (its client went away; submit with --detach to keep a job running without one)");
            return;
        }

        var snapshot = membership.CurrentSnapshot;
        for (int i = 0; i < attempt.Shards; i++)
        {
            if (attempt.Silos[i] is string silo && snapshot.GetSiloStatus(SiloAddress.FromParsableString(silo)).IsTerminating())
            {
                await RetryOrFailAsync($"silo {silo} of shard {i} left the cluster");
                return;
            }
        }

        // Membership notices a dead process; the probes notice everything else (a failure report lost with a silo, a
        // shard grain re-activated elsewhere, a silo that stopped answering) within a few periods.
        var probed = Enumerable.Range(0, attempt.Shards).Where(i => attempt.Silos[i] is not null && !attempt.IsDone(i)).ToList();
        var answers = await Task.WhenAll(probed.Select(ProbeAsync));
        if (_attempt != attempt || _state != JobState.Running)
        {
            return;
        }

        for (int k = 0; k < probed.Count; k++)
        {
            if (_watch!.Observe(probed[k], answers[k]) is string reason)
            {
                await RetryOrFailAsync(reason);
                return;
            }
        }

        async Task<ShardCondition?> ProbeAsync(int shard)
        {
            try
            {
                return await Shard(shard).ProbeAsync(attempt.Id);
            }
            catch (Exception e) when (RingResilience.IsTransient(e))
            {
                return null;
            }
        }
    }
}
