using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// What must fit in one host array (.NET caps an array at <see cref="Array.MaxLength"/> elements, about 2 GiB of
/// bytes): on a silo without a device-resident backend (the CPU backend) a shard's q rows and each received K/V
/// block live in host arrays. A device shard's q, K/V and output stream between file and device, and its K/V blocks
/// between devices, in pieces: no such limit. Checked by
/// the coordinator, which knows which silos the shards may land on; the error names the minimum shard count.
/// </summary>
public static class HostBufferLimits
{
    /// <param name="hostPathSilos">Some active silo computes on the host (its shards hold q and K/V in host arrays).</param>
    public static void Check(JobSpec spec, bool hostPathSilos)
    {
        long tokens = spec.Tokens;
        long shardRows = (tokens + spec.Shards - 1) / spec.Shards;
        long qRowBytes = (long)spec.Heads * spec.HeadDim * spec.ComputeType.Size();
        long kvRowBytes = 2L * spec.KvHeads * spec.HeadDim * spec.KeyValueType.Size();
        if (hostPathSilos)
        {
            Refuse(spec, "q", shardRows, qRowBytes, "a CPU silo reads a shard's q rows into one host buffer");
        }

        // Only received blocks are one K||V array (a shard's own K and V are two); one shard receives nothing.
        // Device silos stream blocks between devices in pieces, whatever their size.
        if (spec.Shards > 1 && hostPathSilos)
        {
            Refuse(spec, "K/V block", shardRows, kvRowBytes, "a K/V block received from another shard lands in one host buffer");
        }
    }

    private static void Refuse(JobSpec spec, string what, long shardRows, long rowBytes, string why)
    {
        if (shardRows * rowBytes <= Array.MaxLength)
        {
            return;
        }

        long minShards = ((spec.Tokens * rowBytes) + Array.MaxLength - 1) / Array.MaxLength;
        while ((spec.Tokens + minShards - 1) / minShards * rowBytes > Array.MaxLength)
        {
            minShards++;
        }

        throw new SpecValidationException("shards",
            $"a shard of {shardRows} tokens needs a host buffer of {shardRows * rowBytes:N0} bytes for its {what} but one buffer holds at most " +
            $"{Array.MaxLength:N0} ({why}); use at least {minShards} shards");
    }
}
