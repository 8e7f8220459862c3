namespace RingAttention.Grains.Placement;

/// <summary>
/// The placement rule, in one place: shard i of a job goes to silo (start(job) + i) mod N of the N silos that
/// advertise a device, ordered by address, where start(job) is a stable hash of the job id. Consecutive shards land
/// on different silos (the ring spreads over the cluster) and no silo holds more than ceil(R / N) of a job's R shards,
/// which is what memory admission budgets for.
/// </summary>
public static class ShardPlacement
{
    /// <summary>Index, among <paramref name="silos"/> silos ordered by address, of the silo that hosts shard <paramref name="shard"/>.</summary>
    public static int SiloIndex(string jobId, int shard, int silos) => (int)(((uint)StableHash(jobId) % (uint)silos + (uint)shard) % (uint)silos);

    /// <summary>The most shards of an R-shard job that one of <paramref name="silos"/> silos holds: ceil(R / N).</summary>
    public static int MostShardsPerSilo(int shards, int silos) => (shards + Math.Max(1, silos) - 1) / Math.Max(1, silos);

    /// <summary>FNV-1a: string.GetHashCode is randomised per process, and every silo must agree.</summary>
    private static int StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }
}
