using RingAttention.Grains.Jobs;

namespace RingAttention.Grains.Tests;

public sealed class ShardWatchTests
{
    [Fact]
    public void Observe_FailedAnswer_EndsTheAttemptWithTheShardsError()
    {
        var watch = new ShardWatch(3);

        Assert.Null(watch.Observe(0, new ShardCondition(ShardPhase.Running)));
        Assert.Equal("shard 1 on cpu: disk full", watch.Observe(1, new ShardCondition(ShardPhase.Failed, "shard 1 on cpu: disk full")));
    }

    [Fact]
    public void Observe_UnknownTwiceInARow_IsALoss_OnceIsARace()
    {
        var watch = new ShardWatch(2);

        Assert.Null(watch.Observe(1, new ShardCondition(ShardPhase.Unknown)));
        Assert.Null(watch.Observe(1, new ShardCondition(ShardPhase.Running)));
        Assert.Null(watch.Observe(1, new ShardCondition(ShardPhase.Unknown)));
        Assert.Contains("shard 1 was lost", watch.Observe(1, new ShardCondition(ShardPhase.Unknown)), StringComparison.Ordinal);
    }

    [Fact]
    public void Observe_MissedProbes_LossAfterMaxMissesInARow()
    {
        var watch = new ShardWatch(1);
        for (int i = 1; i < ShardWatch.MaxMisses; i++)
        {
            Assert.Null(watch.Observe(0, null));
        }

        Assert.Contains("stopped answering", watch.Observe(0, null), StringComparison.Ordinal);
    }
}
