using RingAttention.Client;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;
using Xunit.Abstractions;

namespace RingAttention.Integration.Tests;

/// <summary>Silo processes killed mid-job: every job still completes with the fault-free answer.</summary>
[Collection(HarnessCollection.Name)]
public sealed class FaultTests(HarnessFixture fixture, ITestOutputHelper output)
{
    private const int Shards = 6;

    [SkippableFact]
    public async Task Run_TenJobsEachWithASiloKilledMidRing_AllCompleteWithTheFaultFreeOutput()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor("fault-input.safetensors"), 16_384, 8, 2, 64, ElementType.BF16, seed: 3);
        string reference = fixture.PathFor("fault-free.safetensors");
        var clean = await (await fixture.Client.SubmitAsync(Spec(input, reference))).WaitAsync();
        Assert.Equal(1, clean.Attempts);
        byte[] expected = Inputs.ReadAll(reference, "o");

        var random = new Random(17);
        for (int run = 0; run < 10; run++)
        {
            string outputPath = fixture.PathFor($"fault-{run}.safetensors");
            var job = await fixture.Client.SubmitAsync(Spec(input, outputPath));
            int victim = random.Next(HarnessFixture.Silos);
            int killAtStep = random.Next(1, Shards * 2);
            var atKill = await KillWhenAsync(job, victim, killAtStep);

            var status = await job.WaitAsync();

            output.WriteLine($"run {run}: killed silo {victim} at step {atKill.StepsDone} ({atKill.State}); completed after " +
                $"{status.Attempts} ring attempts and {job.Resubmissions} resubmissions (coordinator lost), last run {status.ElapsedSeconds:0.0} s");
            Assert.Equal(JobState.Completed, status.State);
            // Either the coordinator re-ran the ring, or the coordinator itself was on the killed silo and the client
            // submitted the job again: both mean the kill hit the job and the job survived it.
            Assert.True(status.Attempts >= 2 || job.Resubmissions > 0, $"run {run}: the kill did not hit the job");
            Assert.Equal(expected, Inputs.ReadAll(outputPath, "o"));
            await fixture.Cluster.RestartAsync(victim);
        }
    }

    [SkippableFact]
    public async Task Run_CoordinatorSiloKilled_ClientResubmitsAndJobCompletes()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor("coordinator-input.safetensors"), 12_288, 8, 2, 64, ElementType.BF16, seed: 4);
        string outputPath = fixture.PathFor("coordinator-out.safetensors");
        var job = await fixture.Client.SubmitAsync(Spec(input, outputPath));
        var first = await job.GetStatusAsync();
        int victim = fixture.Cluster.IndexOf(first.CoordinatorSilo!);

        await fixture.Cluster.KillAsync(victim);
        var status = await job.WaitAsync();

        output.WriteLine($"coordinator on silo {victim} killed; completed in {status.ElapsedSeconds:0.0} s on {status.CoordinatorSilo}");
        Assert.Equal(JobState.Completed, status.State);
        Assert.NotEqual(first.CoordinatorSilo, status.CoordinatorSilo);
        var report = OutputVerifier.Verify(input, outputPath, new(true, null), null, rows: 32);
        Assert.True(report.Passed, report.Failure);
        await fixture.Cluster.RestartAsync(victim);
    }

    private static JobSpec Spec(string input, string outputPath) => new()
    {
        InputPath = input,
        OutputPath = outputPath,
        Causal = true,
        Shards = Shards,
        Layout = ShardLayout.Zigzag,
    };

    private async Task<JobStatus> KillWhenAsync(RingJob job, int victim, int step)
    {
        await foreach (var status in job.WatchAsync(TimeSpan.FromMilliseconds(10)))
        {
            if (status.StepsDone >= step || status.State.IsFinal())
            {
                break;
            }
        }

        var before = await job.GetStatusAsync();
        await fixture.Cluster.KillAsync(victim);
        return before;
    }
}
