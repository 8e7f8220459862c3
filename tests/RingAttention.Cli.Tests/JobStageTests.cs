
namespace RingAttention.Cli.Tests;

/// <summary>What the progress view calls a job's stage: a queue wait says why, a retry says so, the end is not a stage.</summary>
public sealed class JobStageTests
{
    [Fact]
    public void Queued_ShowsTheQueueNoteInsteadOfZeroPercent()
    {
        var status = new JobStatus { State = JobState.Queued, Error = "queued for memory: 1 jobs ahead; 6.0 GiB of 8.0 GiB reserved" };

        Assert.Equal("queued for memory: 1 jobs ahead; 6.0 GiB of 8.0 GiB reserved", JobProgressView.Stage(status));
    }

    [Fact]
    public void Retried_IsANewStageNamingTheAttemptAndWhy()
    {
        var first = new JobStatus { State = JobState.Running, Attempts = 1 };
        var retried = new JobStatus { State = JobState.Running, Attempts = 2, Note = "silo S127.0.0.1:11112 died" };

        Assert.Equal("running", JobProgressView.Stage(first));
        Assert.Equal("running, attempt 2 (silo S127.0.0.1:11112 died)", JobProgressView.Stage(retried));
        // Completing does not add a stage line after "running".
        Assert.Equal("running", JobProgressView.Stage(first with { State = JobState.Completed }));
    }
}
