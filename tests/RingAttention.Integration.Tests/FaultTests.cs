using System.Diagnostics;
using RingAttention.Client;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;
using Xunit.Abstractions;

namespace RingAttention.Integration.Tests;

/// <summary>
/// The fault drill on three silo processes (Redis membership, probe timeout 1 s): silos killed, frozen, Redis killed
/// and restarted, the coordinator's silo killed, a kill under load. Every job completes with the fault-free output
/// within the fault-free time + 3 probe timeouts + 10 s, and no temp output is left anywhere.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class FaultTests(HarnessFixture fixture, ITestOutputHelper output)
{
    private const int Shards = 6;
    private const int Tokens = 16_384;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Trials of the kill drill: RINGATTN_DRILL_TRIALS, default 6 (CI; each trial kills and restarts a silo, ~9 s, and
    /// CI's 20 minutes are spent). The measured drill, bench/fault-drill.sh, runs 30.
    /// </summary>
    private static int Trials => int.TryParse(Environment.GetEnvironmentVariable("RINGATTN_DRILL_TRIALS"), out int n) ? n : 6;

    [SkippableFact]
    public async Task Drill_SiloKilledAtRandomStep_EveryJobCompletesBitwiseWithinBound()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var (input, expected, clean) = await FaultFreeAsync("kill");
        var bound = Bound(clean);
        var random = new Random(17);
        var recoveries = new List<double>();
        int late = 0;
        for (int trial = 0; trial < Trials; trial++)
        {
            string outputPath = fixture.PathFor($"kill-{trial}.safetensors");
            var clock = Stopwatch.StartNew();
            var job = await fixture.Client.SubmitAsync(Spec(input, outputPath));
            int victim = random.Next(HarnessFixture.Silos);
            var atKill = await FaultWhenAsync(job, random.Next(1, Shards * 2), () => fixture.Cluster.KillAsync(victim));

            var status = await job.WaitAsync();
            clock.Stop();

            output.WriteLine($"trial {trial}: killed silo {victim} at step {atKill.StepsDone}; {status.Attempts} attempts ({status.Note}), " +
                $"{job.Resubmissions} resubmissions, {clock.Elapsed.TotalSeconds:0.0} s (fault-free {clean.TotalSeconds:0.0} s)");
            Assert.Equal(JobState.Completed, status.State);
            Assert.Equal(0, job.Resubmissions);
            Assert.Equal(expected, Inputs.ReadAll(outputPath, "o"));
            Assert.True(clock.Elapsed <= bound, $"trial {trial}: {clock.Elapsed.TotalSeconds:0.0} s > bound {bound.TotalSeconds:0.0} s");
            await AssertNoTempOutputsAsync();
            if (status.Attempts < 2 && atKill.StepsDone >= atKill.StepsTotal - Shards)
            {
                // The status poll saw the job first in its last round (a starved test thread on a loaded machine): the
                // victim's shards may have had nothing left to do. Counted, and bounded below, rather than failed.
                late++;
            }
            else
            {
                // The status says why the ring started again ("attempt 2/3: silo ... left the cluster", or "resumed ...").
                Assert.True(status.Note is string note && (note.StartsWith("attempt ", StringComparison.Ordinal) || note.StartsWith("resumed", StringComparison.Ordinal)),
                    $"trial {trial}: no retry note: '{status.Note}'");
                // The coordinator either re-ran the ring or was itself lost and resumed from its record: the kill hit the job.
                Assert.True(status.Attempts >= 2, $"trial {trial}: the kill at step {atKill.StepsDone} of {atKill.StepsTotal} did not hit the job");
                recoveries.Add((clock.Elapsed - clean).TotalSeconds);
            }

            await fixture.Cluster.RestartAsync(victim);
        }

        Assert.True(late * 2 < Trials, $"{late} of {Trials} kills came in the job's last round: the drill did not test recovery");
        Report("kill -9 of a random silo at a random step", recoveries, clean);
    }

    [SkippableFact]
    public async Task Drill_CoordinatorSiloKilled_JobResumesFromItsRecord()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var (input, expected, clean) = await FaultFreeAsync("coordinator");
        string outputPath = fixture.PathFor("coordinator-out.safetensors");
        var clock = Stopwatch.StartNew();
        var job = await fixture.Client.SubmitAsync(Spec(input, outputPath));
        var first = await FaultWhenAsync(job, 2, () => Task.CompletedTask);
        int victim = fixture.Cluster.IndexOf(first.CoordinatorSilo!);

        await fixture.Cluster.KillAsync(victim);
        var status = await job.WaitAsync();
        clock.Stop();

        output.WriteLine($"coordinator on silo {victim} killed; completed in {clock.Elapsed.TotalSeconds:0.0} s on {status.CoordinatorSilo}, {status.Attempts} attempts");
        Assert.Equal(JobState.Completed, status.State);
        Assert.NotEqual(first.CoordinatorSilo, status.CoordinatorSilo);
        Assert.Equal(0, job.Resubmissions);
        Assert.Equal(expected, Inputs.ReadAll(outputPath, "o"));
        Assert.True(clock.Elapsed <= Bound(clean), $"{clock.Elapsed.TotalSeconds:0.0} s");
        await AssertNoTempOutputsAsync();
        await fixture.Cluster.RestartAsync(victim);
        Report("the coordinator's silo killed", [(clock.Elapsed - clean).TotalSeconds], clean);
    }

    [SkippableFact]
    public async Task Drill_SiloFrozenThirtySeconds_JobCompletesWhileItIsStopped()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var (input, expected, clean) = await FaultFreeAsync("stop");
        string outputPath = fixture.PathFor("stopped-out.safetensors");
        int victim = 1;
        var clock = Stopwatch.StartNew();
        var job = await fixture.Client.SubmitAsync(Spec(input, outputPath));
        await FaultWhenAsync(job, 3, () => fixture.Cluster.SignalAsync(victim, "STOP"));
        var frozen = Stopwatch.StartNew();

        var status = await job.WaitAsync();
        clock.Stop();
        await Task.Delay(TimeSpan.FromSeconds(30) - frozen.Elapsed is { Ticks: > 0 } rest ? rest : TimeSpan.Zero);
        await fixture.Cluster.SignalAsync(victim, "CONT");

        output.WriteLine($"silo {victim} stopped for 30 s: job completed in {clock.Elapsed.TotalSeconds:0.0} s, {status.Attempts} attempts");
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(expected, Inputs.ReadAll(outputPath, "o"));
        Assert.True(clock.Elapsed <= Bound(clean), $"{clock.Elapsed.TotalSeconds:0.0} s");
        // Woken up, the silo finds itself declared dead and ends itself some seconds later; start a fresh one now so
        // the next test does not meet a process that is about to die.
        await fixture.Cluster.RestartAsync(victim);
        await AssertServesAsync(input, expected, "after-stop");
        await AssertNoTempOutputsAsync();
        Report("a silo frozen (SIGSTOP) for 30 s", [(clock.Elapsed - clean).TotalSeconds], clean);
    }

    [SkippableFact]
    public async Task Drill_RedisKilledAndRestarted_JobsComplete()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var (input, expected, clean) = await FaultFreeAsync("redis");
        var recoveries = new List<double>();

        foreach (string fault in new[] { "kill", "restart" })
        {
            string outputPath = fixture.PathFor($"redis-{fault}.safetensors");
            var clock = Stopwatch.StartNew();
            var job = await fixture.Client.SubmitAsync(Spec(input, outputPath));
            await FaultWhenAsync(job, 2, async () =>
            {
                if (fault == "kill")
                {
                    await fixture.Cluster.RedisKillAsync();
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    await fixture.Cluster.RedisStartAsync();
                }
                else
                {
                    await fixture.Cluster.RedisRestartAsync();
                }
            });

            var status = await job.WaitAsync();
            clock.Stop();

            output.WriteLine($"redis {fault} mid-job: completed in {clock.Elapsed.TotalSeconds:0.0} s, {status.Attempts} attempts");
            Assert.Equal(JobState.Completed, status.State);
            Assert.Equal(expected, Inputs.ReadAll(outputPath, "o"));
            Assert.True(clock.Elapsed <= Bound(clean), $"{clock.Elapsed.TotalSeconds:0.0} s");
            recoveries.Add((clock.Elapsed - clean).TotalSeconds);
        }

        // Membership survived (append-only file): the next jobs run on every silo, not on half of them. Once every silo
        // says it is ready again: a job submitted while a silo's view of the restarted table still lags was refused for
        // memory on "1 silo" (seen once in CI on a busy machine), which is the right answer for that view, not a loss.
        await fixture.Cluster.WaitAllReadyAsync(HarnessFixture.Silos, TimeSpan.FromSeconds(60));
        for (int i = 0; i < 3; i++)
        {
            await AssertServesAsync(input, expected, $"after-redis-{i}");
        }

        await AssertNoTempOutputsAsync();
        Report("Redis killed (2 s down) and restarted mid-job", recoveries, clean);
    }

    [SkippableFact]
    public async Task Drill_MembershipTableLost_SilosRegisterAgainAndJobsRun()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var (input, expected, _) = await FaultFreeAsync("flushed");
        int[] before = Enumerable.Range(0, HarnessFixture.Silos).Select(fixture.Cluster.ProcessId).ToArray();

        await fixture.Cluster.FlushRedisAsync();
        var clock = Stopwatch.StartNew();
        // Each silo notices within two checks, exits 75, and local-cluster.sh starts it again.
        await Task.Delay(MembershipTableWatchPeriod * 2);
        await WaitUntilAsync(() => Enumerable.Range(0, HarnessFixture.Silos).All(i => fixture.Cluster.ProcessId(i) is int pid && pid > 0 && pid != before[i]), TimeSpan.FromSeconds(60));
        await fixture.Cluster.WaitAllReadyAsync(HarnessFixture.Silos, TimeSpan.FromSeconds(60));
        output.WriteLine($"membership table flushed: all silos registered again after {clock.Elapsed.TotalSeconds:0.0} s");

        // Jobs run on all three again, not on half of them.
        for (int i = 0; i < 3; i++)
        {
            await AssertServesAsync(input, expected, $"after-flush-{i}");
        }

        WriteRow(FormattableString.Invariant($"| Redis emptied (FLUSHALL: the membership table is gone) | 3/3 next jobs | - | silos re-registered {clock.Elapsed.TotalSeconds:0.0} s after | | | |"));
    }

    private static readonly TimeSpan MembershipTableWatchPeriod = TimeSpan.FromSeconds(5);

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < timeout, $"not within {timeout}");
            await Task.Delay(250);
        }
    }

    [SkippableFact]
    public async Task Drill_EightJobsAndAKill_AllCorrect()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        await AllSilosUpAsync();
        string input = Inputs.Write(fixture.PathFor("crowd-input.safetensors"), 8192, 8, 2, 64, ElementType.BF16, seed: 11);
        var clock = Stopwatch.StartNew();
        var jobs = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => fixture.Client.SubmitAsync(Spec(input, fixture.PathFor($"crowd-{i}.safetensors")) with
        {
            Shards = 3 + (i % 3),
        })));
        int victim = 2;
        await FaultWhenAsync(jobs[0], 2, () => fixture.Cluster.KillAsync(victim));

        var statuses = await Task.WhenAll(jobs.Select(j => j.WaitAsync()));
        clock.Stop();

        output.WriteLine($"8 jobs, silo {victim} killed: all ended in {clock.Elapsed.TotalSeconds:0.0} s; attempts {string.Join(",", statuses.Select(s => s.Attempts))}");
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(JobState.Completed, statuses[i].State);
            var report = OutputVerifier.Verify(input, fixture.PathFor($"crowd-{i}.safetensors"), new(true, null), null, rows: 16);
            Assert.True(report.Passed, $"job {i}: {report.Failure}");
        }

        await AssertNoTempOutputsAsync();
        await fixture.Cluster.RestartAsync(victim);
        WriteRow(FormattableString.Invariant($"| 8 jobs at once (8K tokens, 3-5 shards), a silo killed | 8/8 (checked vs float64) | - | all ended {clock.Elapsed.TotalSeconds:0.0} s after submit | | | |"));
    }

    private static JobSpec Spec(string input, string outputPath) => new()
    {
        InputPath = input,
        OutputPath = outputPath,
        Causal = true,
        Shards = Shards,
        Layout = ShardLayout.Zigzag,
    };

    private static TimeSpan Bound(TimeSpan clean) => clean + (3 * ProbeTimeout) + TimeSpan.FromSeconds(10);

    /// <summary>The input, its fault-free output and the slower of two fault-free runs' client-side wall times.</summary>
    /// <summary>Every drill starts from three running, ready silos, whatever the drill before it left.</summary>
    private async Task AllSilosUpAsync()
    {
        for (int silo = 0; silo < HarnessFixture.Silos; silo++)
        {
            await fixture.Cluster.EnsureRunningAsync(silo);
        }

        await fixture.Cluster.WaitAllReadyAsync(HarnessFixture.Silos, TimeSpan.FromSeconds(60));
    }

    private async Task<(string Input, byte[] Expected, TimeSpan Clean)> FaultFreeAsync(string name)
    {
        await AllSilosUpAsync();
        string input = Inputs.Write(fixture.PathFor($"{name}-input.safetensors"), Tokens, 8, 2, 64, ElementType.BF16, seed: 3);
        var clean = TimeSpan.Zero;
        for (int run = 0; run < 2; run++)
        {
            var clock = Stopwatch.StartNew();
            var status = await (await fixture.Client.SubmitAsync(Spec(input, fixture.PathFor($"{name}-free.safetensors")))).WaitAsync();
            clean = clock.Elapsed > clean ? clock.Elapsed : clean;
            Assert.Equal(1, status.Attempts);
        }

        return (input, Inputs.ReadAll(fixture.PathFor($"{name}-free.safetensors"), "o"), clean);
    }

    private async Task AssertServesAsync(string input, byte[] expected, string name)
    {
        string outputPath = fixture.PathFor($"{name}.safetensors");
        var status = await (await fixture.Client.SubmitAsync(Spec(input, outputPath))).WaitAsync();
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(expected, Inputs.ReadAll(outputPath, "o"));
    }

    /// <summary>Waits until the job has done <paramref name="step"/> ring steps, then applies the fault.</summary>
    private static async Task<JobStatus> FaultWhenAsync(RingJob job, int step, Func<Task> fault)
    {
        JobStatus last = await job.GetStatusAsync();
        await foreach (var status in job.WatchAsync(TimeSpan.FromMilliseconds(10)))
        {
            last = status;
            if (status.StepsDone >= step || status.State.IsFinal())
            {
                break;
            }
        }

        await fault();
        return last;
    }

    /// <summary>No temp output anywhere under the harness directory once the jobs have ended.</summary>
    private async Task AssertNoTempOutputsAsync()
    {
        string[] left = [];
        for (int i = 0; i < 30; i++)
        {
            left = Directory.GetFiles(fixture.Directory, "*.partial", SearchOption.AllDirectories);
            if (left.Length == 0)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"temp outputs left: {string.Join(", ", left.Select(Path.GetFileName))}");
    }

    /// <summary>The distribution of recovery times (faulted wall − fault-free wall), to the test log and to
    /// RINGATTN_DRILL_REPORT when set (bench/fault-drill.sh collects it).</summary>
    private void Report(string scenario, List<double> recoveries, TimeSpan clean)
    {
        var sorted = recoveries.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * sorted.Length))];
        WriteRow(FormattableString.Invariant(
            $"| {scenario} | {sorted.Length}/{sorted.Length} | {clean.TotalSeconds:0.0} | {sorted[0]:0.0} | {At(0.5):0.0} | {At(0.9):0.0} | {sorted[^1]:0.0} |"));
    }

    private void WriteRow(string line)
    {
        output.WriteLine(line);
        if (Environment.GetEnvironmentVariable("RINGATTN_DRILL_REPORT") is { Length: > 0 } path)
        {
            File.AppendAllText(path, line + Environment.NewLine);
        }
    }
}
