namespace RingAttention.Grains.Configuration;

/// <summary>The grain storage provider that keeps job coordinators' records (<see cref="Jobs.JobRecord"/>).</summary>
public static class JobStorage
{
    /// <summary>Registered by the silo host: Redis storage beside Redis membership, memory storage otherwise.</summary>
    public const string Name = "ringattention-jobs";
}
