using RingAttention.Grains;

namespace RingAttention.Integration.Tests;

/// <summary>Health and metrics endpoints of the silo processes.</summary>
[Collection(HarnessCollection.Name)]
public sealed class ObservabilityTests(HarnessFixture fixture)
{
    [SkippableFact]
    public async Task Metrics_AfterAJob_ExposeRingCountersAndHealthIsReady()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var status = await (await fixture.Client.SubmitAsync(new JobSpec
        {
            SyntheticSeed = 8, Tokens = 2000, Heads = 4, KvHeads = 2, HeadDim = 32, Shards = 3, Causal = true,
            OutputPath = fixture.PathFor("metrics.safetensors"),
        })).WaitAsync();
        Assert.Equal(JobState.Completed, status.State);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string metrics = "";
        for (int silo = 0; silo < HarnessFixture.Silos; silo++)
        {
            string baseUrl = $"http://127.0.0.1:{8080 + fixture.Cluster.PortBase + silo}";
            Assert.Contains("Healthy", await http.GetStringAsync(baseUrl + "/healthz/ready"), StringComparison.Ordinal);
            metrics += await http.GetStringAsync(baseUrl + "/metrics");
        }

        Assert.Contains("ringattention_ring_steps", metrics, StringComparison.Ordinal);
        Assert.Contains("ringattention_kernel_time", metrics, StringComparison.Ordinal);
        // Step times have buckets that fit them (milliseconds to minutes), not the defaults that start at 5 s.
        var kernelBuckets = metrics.Split('\n').Where(l => l.StartsWith("ringattention_kernel_time_seconds_bucket", StringComparison.Ordinal)).ToList();
        Assert.Contains(kernelBuckets, l => l.Contains("le=\"0.005\"", StringComparison.Ordinal));
        Assert.Contains(kernelBuckets, l => l.Contains("le=\"600\"", StringComparison.Ordinal));
        Assert.Contains("ringattention_jobs", metrics, StringComparison.Ordinal);
    }
}
