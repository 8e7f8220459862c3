namespace RingAttention.Grains.Jobs;

/// <summary>
/// The coordinator's per-attempt view of its shards' probe answers. One Unknown answer can be a race (the shard has
/// finished, its done report is queued behind the probe, and its activation left), so a shard counts as lost after
/// two Unknown answers in a row; a probe that times out is a miss, and <see cref="MaxMisses"/> misses in a row are a
/// loss (a silo that stopped answering but that membership has not declared dead yet).
/// </summary>
public sealed class ShardWatch(int shards)
{
    public const int MaxMisses = 5;

    private readonly int[] _unknown = new int[shards];
    private readonly int[] _misses = new int[shards];

    /// <summary>Records an answer; returns why the attempt cannot finish, or null while it can.</summary>
    public string? Observe(int shard, ShardCondition? condition)
    {
        if (condition is null)
        {
            return ++_misses[shard] >= MaxMisses ? $"shard {shard} stopped answering ({MaxMisses} probes in a row)" : null;
        }

        _misses[shard] = 0;
        if (condition.Phase == ShardPhase.Unknown)
        {
            return ++_unknown[shard] >= 2 ? $"shard {shard} was lost (its activation no longer runs this attempt)" : null;
        }

        _unknown[shard] = 0;
        return condition.Phase == ShardPhase.Failed ? condition.Error ?? $"shard {shard} failed" : null;
    }
}
