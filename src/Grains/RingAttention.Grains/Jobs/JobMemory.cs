using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Host bytes a job holds at its peak, summed over shards: q, k, v and o in the storage dtype, the float32
/// accumulators (o and lse), and up to two K/V blocks in flight per shard (the one being computed and the next).
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
        return q + (3 * kv) + accumulators + output;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        _ => $"{bytes} bytes",
    };
}
