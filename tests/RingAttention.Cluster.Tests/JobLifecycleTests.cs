using RingAttention.Grains;

namespace RingAttention.Cluster.Tests;

/// <summary>Progress, cancellation and the output's all-or-nothing appearance.</summary>
[Collection(ClusterCollection.Name)]
public sealed class JobLifecycleTests(ClusterFixture fixture)
{
    private JobSpec LongJob(string name) => new()
    {
        SyntheticSeed = 42,
        Tokens = 16_384,
        Heads = 8,
        KvHeads = 2,
        HeadDim = 64,
        Causal = true,
        Shards = 4,
        OutputPath = fixture.PathFor(name),
    };

    [Fact]
    public async Task Watch_RunningJob_ReportsMonotoneProgressUntilCompleted()
    {
        var job = await fixture.Cluster.Client.SubmitAsync(LongJob("progress.safetensors") with { Tokens = 4096 });
        var seen = new List<JobStatus>();
        await foreach (var status in job.WatchAsync(TimeSpan.FromMilliseconds(20)))
        {
            seen.Add(status);
        }

        var final = seen[^1];
        Assert.Equal(JobState.Completed, final.State);
        Assert.Equal(16, final.StepsDone);
        Assert.Equal(16, final.StepsTotal);
        Assert.True(final.TokensPerSecond > 0);
        Assert.True(final.Totals.ComputeSeconds > 0);
        Assert.Equal(4, final.Shards);
        Assert.Equal("cpu", final.Backends);
        Assert.True(seen.Zip(seen.Skip(1)).All(p => p.First.StepsDone <= p.Second.StepsDone), "progress went backwards");
        Assert.True(File.Exists(final.OutputPath));
    }

    [Fact]
    public async Task Cancel_RunningJob_StopsWithoutOutput()
    {
        var spec = LongJob("cancelled.safetensors");
        var job = await fixture.Cluster.Client.SubmitAsync(spec);
        await foreach (var status in job.WatchAsync(TimeSpan.FromMilliseconds(10)))
        {
            if (status.StepsDone > 0 || status.State.IsFinal())
            {
                break;
            }
        }

        var cancelled = await job.CancelAsync();

        Assert.Equal(JobState.Cancelled, cancelled.State);
        await Assert.ThrowsAsync<RingAttention.Client.RingJobFailedException>(() => job.WaitAsync());
        await Task.Delay(500);
        Assert.Equal(JobState.Cancelled, (await job.GetStatusAsync()).State);
        Assert.False(File.Exists(spec.OutputPath));
        Assert.DoesNotContain(Directory.GetFiles(fixture.Directory, "*.partial"), f => f.Contains("cancelled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lease_ClientStopsAskingForStatus_JobCancelledWithoutOutput()
    {
        var spec = LongJob("abandoned.safetensors") with { Tokens = 32_768, DType = RingAttention.Tensors.ElementType.BF16, ClientLeaseSeconds = 1 };
        var job = await fixture.Cluster.Client.SubmitAsync(spec);

        // Nobody asks: the coordinator's next checks find the lease expired (a CLI killed with -9 looks like this).
        await Task.Delay(TimeSpan.FromSeconds(3));
        var status = await job.GetStatusAsync();

        Assert.Equal(JobState.Cancelled, status.State);
        Assert.Contains("client went away", status.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(spec.OutputPath));
        Assert.DoesNotContain(Directory.GetFiles(fixture.Directory, "*.partial"), f => f.Contains("abandoned", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_SameJobIdTwice_ReturnsTheFirstJob()
    {
        string id = RingAttention.Client.RingAttentionClient.NewJobId();
        var spec = LongJob("twice.safetensors") with { Tokens = 512 };
        var first = await fixture.Cluster.Client.SubmitAsync(spec, id);
        var again = await fixture.Cluster.Client.SubmitAsync(spec with { Shards = 2 }, id);

        var status = await again.WaitAsync();

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(4, status.Shards);
    }
}
