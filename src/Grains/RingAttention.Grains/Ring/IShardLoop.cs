namespace RingAttention.Grains.Ring;

/// <summary>What a shard grain runs for its part of a job: the softmax ring (<see cref="ShardRingLoop"/>) or a linear-attention shard.</summary>
public interface IShardLoop
{
    /// <summary>The shard's counters so far (reported with progress and completion).</summary>
    RingTotals Totals { get; }

    /// <summary>Runs the shard's part and returns its output rows (the caller writes them, then disposes the result).</summary>
    Task<ShardResult> RunAsync(CancellationToken ct);

    /// <summary>Adds the time the caller spent writing this shard's result.</summary>
    void AddWriteSeconds(double seconds);
}
