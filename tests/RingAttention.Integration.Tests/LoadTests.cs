using RingAttention.Attention;
using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;
using Xunit.Abstractions;

namespace RingAttention.Integration.Tests;

/// <summary>Several jobs at once, and bad requests over the wire, on the multi-process cluster.</summary>
[Collection(HarnessCollection.Name)]
public sealed class LoadTests(HarnessFixture fixture, ITestOutputHelper output)
{
    [SkippableFact]
    public async Task Run_EightJobsAtOnce_AllCorrectAndSiloMemoryStaysBounded()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        string input = Inputs.Write(fixture.PathFor("load-input.safetensors"), 8192, 8, 2, 64, ElementType.F32, seed: 9);
        // A warm-up job first, on every silo: the baseline is then a warm silo (ring code compiled, thread pool grown),
        // so the growth measured below is the jobs' buffers, which the budget bounds, not the runtime warming up.
        var warmUp = await fixture.Client.SubmitAsync(new JobSpec { InputPath = input, OutputPath = fixture.PathFor("load-warm.safetensors"), Causal = true, Shards = 6 });
        Assert.Equal(JobState.Completed, (await warmUp.WaitAsync()).State);
        long[] idle = Enumerable.Range(0, HarnessFixture.Silos).Select(i => MemoryProbe.CurrentBytes(fixture.Cluster.ProcessId(i))).ToArray();

        var jobs = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => fixture.Client.SubmitAsync(new JobSpec
        {
            InputPath = input,
            OutputPath = fixture.PathFor($"load-{i}.safetensors"),
            Causal = i % 2 == 0,
            Shards = 3 + (i % 3),
        })));
        var statuses = await Task.WhenAll(jobs.Select(j => j.WaitAsync()));

        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(JobState.Completed, statuses[i].State);
            var report = OutputVerifier.Verify(input, fixture.PathFor($"load-{i}.safetensors"), new(i % 2 == 0, null), null, rows: 16);
            Assert.True(report.Passed, $"job {i}: {report.Failure}");
        }

        for (int silo = 0; silo < HarnessFixture.Silos; silo++)
        {
            long peak = MemoryProbe.PeakBytes(fixture.Cluster.ProcessId(silo));
            long growth = peak - idle[silo];
            output.WriteLine($"silo {silo}: idle {idle[silo] >> 20} MiB, peak {peak >> 20} MiB, growth {growth >> 20} MiB (budget {HarnessFixture.SiloMemoryBytes >> 20} MiB)");
            // The budget bounds job buffers; the rest is garbage the GC has not collected yet at the peak and thread
            // stacks of the busier pool. Measured from a cold baseline: 106-160 MiB of growth for a 96 MiB budget on the
            // 2-core CI machine (122-132 before the one backend contract, same machine and day); from this warm one, 75-105 MiB.
            Assert.True(growth <= HarnessFixture.SiloMemoryBytes * 3 / 2, $"silo {silo} grew by {growth >> 20} MiB");
        }
    }

    [SkippableFact]
    public async Task Submit_MalformedAndOversizeSpecsOverTheWire_RefusedAndSilosKeepServing()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        var client = fixture.Client;
        await Assert.ThrowsAsync<SpecValidationException>(() => client.SubmitAsync(new JobSpec { SyntheticSeed = 1, Tokens = -5, Heads = 1, KvHeads = 1, HeadDim = 8, OutputPath = fixture.PathFor("a.safetensors") }));
        await Assert.ThrowsAsync<SpecValidationException>(() => client.SubmitAsync(new JobSpec { SyntheticSeed = 1, Tokens = 100, Heads = 3, KvHeads = 2, HeadDim = 8, OutputPath = fixture.PathFor("b.safetensors") }));
        var tooBig = await Assert.ThrowsAsync<SpecValidationException>(() => client.SubmitAsync(new JobSpec
        {
            SyntheticSeed = 1, Tokens = 1 << 22, Heads = 8, KvHeads = 8, HeadDim = 64, Shards = 16, OutputPath = fixture.PathFor("c.safetensors"),
        }));
        Assert.Equal("memory", tooBig.Field);

        // Straight to the coordinator, past the SDK's own checks: a spec whose path is far over any limit.
        var coordinator = client.Cluster.GetGrain<IJobCoordinatorGrain>("oversize-" + Guid.NewGuid().ToString("N"));
        var status = await coordinator.SubmitAsync(new JobSpec { InputPath = new string('x', 1 << 20), OutputPath = fixture.PathFor("d.safetensors") });
        Assert.Equal(JobState.Rejected, status.State);
        Assert.Equal("inputs", status.ErrorField);

        var healthy = await (await client.SubmitAsync(new JobSpec
        {
            SyntheticSeed = 5, Tokens = 999, Heads = 4, KvHeads = 2, HeadDim = 32, Shards = 3, Causal = true, OutputPath = fixture.PathFor("e.safetensors"),
        })).WaitAsync();
        Assert.Equal(JobState.Completed, healthy.State);
    }
}
