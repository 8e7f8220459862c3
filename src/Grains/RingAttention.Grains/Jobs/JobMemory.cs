using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Host bytes a job holds at its peak, summed over shards: q and o in the storage dtype, the float32 accumulators
/// (o and lse), o converted for writing, and up to four K/V blocks per shard: its own, the one being computed, the
/// next one arriving, and the one it forwarded that the next shard has not taken yet.
/// </summary>
public static class JobMemory
{
    public static long Estimate(JobSpec spec)
    {
        long tokens = spec.Tokens;
        long size = spec.DType.Size();
        long q = tokens * spec.Heads * spec.HeadDim * size;
        long kv = 2 * tokens * spec.KvHeads * spec.HeadDim * size;
        long accumulators = (tokens * spec.Heads * spec.HeadDim * 4) + (tokens * spec.Heads * 4);
        long output = q;
        return q + (4 * kv) + accumulators + output;
    }

    /// <summary>
    /// The most any one silo holds for this job: shards are placed round-robin, so a silo gets at most ceil(R / N)
    /// of the R shards, each holding about 1/R of the job's buffers.
    /// </summary>
    public static long PerSilo(JobSpec spec, int silos)
    {
        int shardsPerSilo = (spec.Shards + Math.Max(1, silos) - 1) / Math.Max(1, silos);
        return (long)Math.Ceiling(Estimate(spec) * (double)shardsPerSilo / spec.Shards);
    }

    /// <summary>
    /// Device bytes one kernel call of the largest shard needs: its query rows and one K/V block in the storage dtype,
    /// and its output (float32) and lse. Shards of a silo take turns on its device, so this is the device's peak.
    /// </summary>
    public static long DeviceWorkingSet(JobSpec spec)
    {
        long rows = (spec.Tokens + spec.Shards - 1) / spec.Shards;
        long size = spec.DType.Size();
        long q = rows * spec.Heads * spec.HeadDim * size;
        long kv = 2 * rows * spec.KvHeads * spec.HeadDim * size;
        long output = (rows * spec.Heads * spec.HeadDim * 4) + (rows * spec.Heads * 4);
        return q + kv + output;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        _ => $"{bytes} bytes",
    };
}
