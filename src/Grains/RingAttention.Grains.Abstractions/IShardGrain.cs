namespace RingAttention.Grains;

/// <summary>
/// Shard i of a job's ring (key "job/i"): loads its own Q/K/V rows, computes against each K/V block that comes around
/// the ring, forwards every block to shard i+1, writes its output rows. Placed on a silo with a device.
/// </summary>
[Alias("RingAttention.IShardGrain")]
public interface IShardGrain : IGrainWithStringKey
{
    /// <summary>Starts the ring loop and returns at once; progress and completion go to the coordinator.</summary>
    Task StartAsync(ShardPlan plan);

    /// <summary>Stops the ring loop of <paramref name="attempt"/> (or any attempt when negative).</summary>
    Task CancelAsync(int attempt);
}
