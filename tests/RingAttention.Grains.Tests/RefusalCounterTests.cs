using RingAttention.Grains.DataPlane;

namespace RingAttention.Grains.Tests;

public sealed class RefusalCounterTests
{
    [Fact]
    public void Refused_ManyInOnePeriod_OneWarningThenCountCarriedToTheNext()
    {
        var counter = new RefusalCounter(TimeSpan.FromMilliseconds(200));

        var warnings = Enumerable.Range(0, 1000).Select(_ => counter.Refused()).Where(w => w is not null).ToList();
        Thread.Sleep(250);
        long? next = counter.Refused();

        Assert.Equal([1L], warnings.Select(w => w!.Value));
        Assert.Equal(1000, next);
    }
}
