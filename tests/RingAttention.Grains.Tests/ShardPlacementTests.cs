using RingAttention.Grains.Placement;

namespace RingAttention.Grains.Tests;

/// <summary>The placement rule that the director follows and admission budgets for: they must agree.</summary>
public sealed class ShardPlacementTests
{
    [Theory]
    [InlineData(8, 3)]
    [InlineData(6, 3)]
    [InlineData(1, 4)]
    [InlineData(16, 5)]
    public void SiloIndex_NoSiloHoldsMoreThanAdmissionBudgetsFor(int shards, int silos)
    {
        foreach (string job in new[] { "job-a", "job-20261130-120000-1234abcd", "x" })
        {
            var perSilo = Enumerable.Range(0, shards).GroupBy(i => ShardPlacement.SiloIndex(job, i, silos)).Select(g => g.Count()).ToList();

            Assert.Equal(ShardPlacement.MostShardsPerSilo(shards, silos), perSilo.Max());
            // Consecutive shards (ring neighbours) land on different silos whenever there is more than one.
            Assert.All(Enumerable.Range(0, shards - 1), i =>
                Assert.True(silos == 1 || ShardPlacement.SiloIndex(job, i, silos) != ShardPlacement.SiloIndex(job, i + 1, silos)));
        }
    }

    [Fact]
    public void SiloIndex_SameJobSameAnswerEverywhere() =>
        Assert.Equal(ShardPlacement.SiloIndex("job-1", 3, 4), ShardPlacement.SiloIndex(new string("job-1"), 3, 4));
}
