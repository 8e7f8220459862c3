using RingAttention.Grains.Jobs;

namespace RingAttention.Grains.Tests;

public sealed class RingAttemptTests
{
    [Fact]
    public void Step_LateReportAfterDone_DoesNotReplaceFinalTotals()
    {
        var attempt = new RingAttempt(1, shards: 2, "p", "t");
        attempt.Done(0, new RingTotals { RemoteTransfers = 1 }, "cpu");

        attempt.Step(0, 1, RingTotals.Zero);

        Assert.Equal(1, attempt.Totals.RemoteTransfers);
        Assert.Equal(2, attempt.StepsDone);
    }

    [Fact]
    public void Step_OlderReportAfterNewer_Ignored()
    {
        var attempt = new RingAttempt(1, shards: 4, "p", "t");
        attempt.Step(1, 3, new RingTotals { LocalHandoffs = 2 });

        attempt.Step(1, 2, new RingTotals { LocalHandoffs = 1 });

        Assert.Equal(3, attempt.StepsDone);
        Assert.Equal(2, attempt.Totals.LocalHandoffs);
    }
}
