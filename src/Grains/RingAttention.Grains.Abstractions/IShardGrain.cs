namespace RingAttention.Contracts;

/// <summary>
/// Shard i of a job's ring (key "job/i"): loads its own Q/K/V rows, computes against each K/V block that comes around
/// the ring, forwards every block to shard i+1, writes its output rows. Placed on a silo with a device.
/// </summary>
[Alias("RingAttention.IShardGrain")]
public interface IShardGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the ring loop (stopping an older attempt's) and returns at once with the silo it runs on; progress and
    /// completion go to the coordinator. Idempotent for the same attempt.
    /// </summary>
    Task<string> StartAsync(ShardPlan plan);

    /// <summary>
    /// Shard i-1 announces a K/V block to this shard (the control plane of one ring edge; the bytes travel on the data
    /// plane). Idempotent: the inbox keeps the first announcement of an (attempt, step), so a retried call is harmless.
    /// </summary>
    Task AnnounceAsync(BlockAnnouncement announcement);

    /// <summary>
    /// A linear-attention job's state for this shard (<see cref="LinearStatePost"/>). Idempotent: the inbox keeps the first
    /// post of an (attempt, slot), so a retried call is harmless.
    /// </summary>
    Task PostStateAsync(LinearStatePost post);

    /// <summary>Stops the ring loop of <paramref name="attempt"/>.</summary>
    Task CancelAsync(long attempt);

    /// <summary>
    /// Where <paramref name="attempt"/> stands on this activation. The coordinator asks every second: a shard whose
    /// failure report was lost answers Failed, one whose silo died is re-activated by the call and answers Unknown,
    /// so no fault leaves a ring waiting for a step timeout. Answered from memory, hence the short timeout.
    /// </summary>
    [ResponseTimeout("00:00:03")]
    Task<ShardCondition> ProbeAsync(long attempt);
}
