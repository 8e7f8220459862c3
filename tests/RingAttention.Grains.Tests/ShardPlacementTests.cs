using RingAttention.Grains.Placement;

namespace RingAttention.Grains.Tests;

/// <summary>The placement rule that the director and the shards follow and admission budgets for: they must agree.</summary>
public sealed class ShardPlacementTests
{
    public static TheoryData<int, int[]> Layouts() => new()
    {
        { 8, [1, 1, 1] },
        { 6, [1, 1, 1] },
        { 1, [1, 1, 1, 1] },
        { 16, [1, 1, 1, 1, 1] },
        { 8, [2] },
        { 8, [2, 2] },
        { 16, [4, 4] },
        { 7, [2, 1, 3] },
        { 3, [4] },
    };

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Place_NoDeviceOrSiloHoldsMoreThanAdmissionBudgetsFor(int shards, int[] devicesPerSilo)
    {
        int devices = devicesPerSilo.Sum();
        foreach (string job in new[] { "job-a", "job-20261130-120000-1234abcd", "x" })
        {
            var placed = Enumerable.Range(0, shards).Select(i => ShardPlacement.Place(job, i, shards, devicesPerSilo)).ToList();

            Assert.True(placed.GroupBy(p => p).Max(g => g.Count()) <= ShardPlacement.MostShardsPerDevice(shards, devices));
            Assert.True(placed.GroupBy(p => p.Silo).Max(g => g.Count()) <= ShardPlacement.MostShardsPerSilo(shards, devicesPerSilo));
            Assert.All(placed, p => Assert.InRange(p.Device, 0, devicesPerSilo[p.Silo] - 1));
            // Each device's shards are consecutive indices (ShardDevice.Sharing walks out from a shard on this).
            Assert.All(placed.Select((p, i) => (p, i)).GroupBy(x => x.p), g => Assert.Equal(g.Count() - 1, g.Max(x => x.i) - g.Min(x => x.i)));
        }
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Place_RingCrossesADeviceBoundaryOncePerDeviceInUse(int shards, int[] devicesPerSilo)
    {
        int devices = devicesPerSilo.Sum();
        var placed = Enumerable.Range(0, shards).Select(i => ShardPlacement.Place("job-b", i, shards, devicesPerSilo)).ToList();

        int crossings = Enumerable.Range(0, shards).Count(i => placed[i] != placed[(i + 1) % shards]);
        int used = placed.Distinct().Count();

        Assert.Equal(Math.Min(shards, devices), used); // every device works when there are shards enough
        Assert.Equal(used == 1 ? 0 : used, crossings); // consecutive shards share a device: D hops per step, not R
    }

    [Fact]
    public void Place_TwoSilosOfTwoDevices_SiloBoundaryCrossedTwicePerRound()
    {
        var placed = Enumerable.Range(0, 8).Select(i => ShardPlacement.Place("job-c", i, 8, [2, 2])).ToList();

        int siloCrossings = Enumerable.Range(0, 8).Count(i => placed[i].Silo != placed[(i + 1) % 8].Silo);

        Assert.Equal(2, siloCrossings); // a host's devices are adjacent in the ring
    }

    [Fact]
    public void Place_SameJobSameAnswerEverywhere() =>
        Assert.Equal(ShardPlacement.Place("job-1", 3, 8, [1, 1, 1, 1]), ShardPlacement.Place(new string("job-1"), 3, 8, [1, 1, 1, 1]));
}
