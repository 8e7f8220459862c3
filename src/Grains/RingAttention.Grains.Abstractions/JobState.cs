namespace RingAttention.Contracts;

[GenerateSerializer]
public enum JobState
{
    /// <summary>No job has been submitted under this id.</summary>
    Unknown = 0,

    Running = 1,

    Completed = 2,

    /// <summary>Refused before any work was scheduled (bad input); <see cref="JobStatus.ErrorField"/> names the field.</summary>
    Rejected = 3,

    Failed = 4,

    Cancelled = 5,

    /// <summary>Validated and waiting for memory on the silos (see <see cref="JobStatus.Error"/> for the numbers).</summary>
    Queued = 6,
}

public static class JobStateExtensions
{
    public static bool IsFinal(this JobState state) => state is JobState.Completed or JobState.Rejected or JobState.Failed or JobState.Cancelled;
}
