using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>R shards on three silos must equal single-shard attention and the float64 reference.</summary>
[Collection(ClusterCollection.Name)]
public sealed class RingEquivalenceTests(ClusterFixture fixture)
{
    private const int Tokens = 203;

    public static TheoryData<int, ShardLayout> Rings()
    {
        var data = new TheoryData<int, ShardLayout>();
        foreach (int shards in new[] { 1, 2, 3, 4, 5, 8 })
        {
            data.Add(shards, ShardLayout.Contiguous);
            data.Add(shards, ShardLayout.Zigzag);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Rings))]
    public async Task Run_CausalGqaOnRing_EqualsSingleShardAndReference(int shards, ShardLayout layout)
    {
        string input = fixture.PathFor("equivalence-input.safetensors");
        lock (typeof(RingEquivalenceTests))
        {
            if (!File.Exists(input))
            {
                TestInputs.Write(input, Tokens, heads: 4, kvHeads: 2, headDim: 40, ElementType.F32, seed: 11);
            }
        }

        string single = await RunAsync(input, 1, ShardLayout.Contiguous, $"single-{shards}-{layout}");
        string ring = await RunAsync(input, shards, layout, $"ring-{shards}-{layout}");

        var report = OutputVerifier.Verify(input, ring, new(true, null), null, rows: Tokens);
        Assert.True(report.Passed, report.Failure);
        var (singleO, singleLse) = TestInputs.ReadOutput(single);
        var (ringO, ringLse) = TestInputs.ReadOutput(ring);
        AssertClose(singleO, ringO, 2e-6);
        AssertClose(singleLse, ringLse, 2e-6);
    }

    [Fact]
    public async Task Verify_OutputCheckedUnderAnotherMask_Fails()
    {
        string input = fixture.PathFor("wrong-mask-input.safetensors");
        TestInputs.Write(input, 77, heads: 2, kvHeads: 1, headDim: 16, ElementType.F32, seed: 5);
        string output = await RunAsync(input, 3, ShardLayout.Zigzag, "wrong-mask");

        var report = OutputVerifier.Verify(input, output, new(false, null), null, rows: 16);

        Assert.False(report.Passed);
    }

    [Fact]
    public async Task Run_ErrorVersusReference_DoesNotGrowWithShards()
    {
        string input = fixture.PathFor("growth-input.safetensors");
        TestInputs.Write(input, 1001, heads: 4, kvHeads: 1, headDim: 64, ElementType.BF16, seed: 23);
        var mask = new RingAttention.Attention.AttentionMask(true, null);

        var one = OutputVerifier.Verify(input, await RunAsync(input, 1, ShardLayout.Zigzag, "growth-1"), mask, null, rows: 200);
        var eight = OutputVerifier.Verify(input, await RunAsync(input, 8, ShardLayout.Zigzag, "growth-8"), mask, null, rows: 200);

        Assert.True(one.Passed, one.Failure);
        Assert.True(eight.Passed, eight.Failure);
        Assert.True(eight.MaxOutputError <= (2 * one.MaxOutputError) + 1e-6, $"R=8 error {eight.MaxOutputError} vs R=1 {one.MaxOutputError}");
        Assert.True(eight.MaxLseError <= (2 * one.MaxLseError) + 1e-5, $"R=8 lse error {eight.MaxLseError} vs R=1 {one.MaxLseError}");
    }

    private async Task<string> RunAsync(string input, int shards, ShardLayout layout, string name)
    {
        string output = fixture.PathFor(name + ".safetensors");
        var job = await fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = input,
            OutputPath = output,
            Causal = true,
            Shards = shards,
            Layout = layout,
        });
        var status = await job.WaitAsync();
        Assert.Equal(JobState.Completed, status.State);
        Assert.Equal(shards * shards, status.StepsDone);
        Assert.Equal(shards * (shards - 1), status.Totals.LocalHandoffs + status.Totals.RemoteTransfers);
        if (shards == 4)
        {
            // Placement is round-robin over 3 silos, so shards 3 and 0 share a silo: both data paths run.
            Assert.True(status.Totals.LocalHandoffs > 0, "no same-silo hand-off happened");
            Assert.True(status.Totals.RemoteTransfers > 0, "no cross-silo transfer happened");
        }

        Assert.False(File.Exists(output + ".partial"));
        return output;
    }

    private static void AssertClose(float[] expected, float[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.False(float.IsNaN(actual[i]), $"element {i} is NaN");
            double error = Math.Abs(expected[i] - actual[i]);
            Assert.True(error <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"element {i}: {actual[i]} vs single-shard {expected[i]}");
        }
    }
}
