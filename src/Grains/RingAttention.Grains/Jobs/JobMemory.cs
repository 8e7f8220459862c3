using RingAttention.Attention;
using RingAttention.Grains.Placement;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Host bytes a job holds at its peak, summed over shards: q and o in the storage dtype, the float32 accumulators
/// (o and lse), o converted for writing, and up to four K/V blocks per shard: its own, the one being computed, the
/// next one arriving, and the one it forwarded that the next shard has not taken yet.
/// </summary>
public static class JobMemory
{
    /// <summary>
    /// Host bytes of the job on the cluster it will run on. Where every silo has a device-resident backend, q, o and
    /// the accumulators live on the devices and the host holds only staging buffers, the lse being written and, when
    /// blocks may cross silos, a receive buffer and a downloaded copy of the forwarded block per shard.
    /// </summary>
    public static long Estimate(JobSpec spec, ClusterShape cluster, int stagingBytes)
    {
        if (cluster.HostPathSilos)
        {
            return Estimate(spec);
        }

        long rows = (spec.Tokens + spec.Shards - 1) / spec.Shards;
        long crossing = cluster.DeviceSilos > 1 && spec.Shards > 1 ? 4L * Math.Min(stagingBytes, DataPlane.DataPlaneProtocol.PieceBytes) : 0; // send + receive pieces
        long shard = (4L * stagingBytes) + (rows * spec.Heads * 4) + crossing;
        return shard * spec.Shards;
    }

    /// <summary>Host bytes of the job where shards compute on the host (the CPU backend).</summary>
    public static long Estimate(JobSpec spec)
    {
        long tokens = spec.Tokens;
        long size = spec.ComputeType.Size();
        long q = tokens * spec.Heads * spec.HeadDim * size;
        long kv = 2 * tokens * spec.KvHeads * spec.HeadDim * spec.KeyValueType.Size();
        long accumulators = (tokens * spec.Heads * spec.HeadDim * 4) + (tokens * spec.Heads * 4);
        long output = q;
        return q + (4 * kv) + Fp8Scratch(spec, tokens) + accumulators + output;
    }

    /// <summary>
    /// The most any one silo holds for this job: a silo gets at most <see cref="ShardPlacement.MostShardsPerSilo"/> of
    /// the R shards, each holding about 1/R of the job's buffers.
    /// </summary>
    /// <param name="devicesPerSilo">Devices of each silo in ring order (<see cref="ClusterView.DevicesPerSilo"/>).</param>
    public static long PerSilo(JobSpec spec, IReadOnlyList<int> devicesPerSilo, ClusterShape cluster, int stagingBytes)
    {
        int shardsPerSilo = ShardPlacement.MostShardsPerSilo(spec.Shards, devicesPerSilo);
        return (long)Math.Ceiling(Estimate(spec, cluster, stagingBytes) * (double)shardsPerSilo / spec.Shards);
    }

    /// <summary>
    /// Device bytes one device holds for this job at its peak. A device-resident shard keeps its q rows and its
    /// float32 O/LSE on the device for the whole job, plus up to three K/V blocks (the one it computes on, which it
    /// also forwards and the store holds until the next shard takes it, the next one arriving, and its own until it
    /// leaves); a device holds at most ceil(R / D) of them (<see cref="ShardPlacement"/>). A linear-attention shard holds its own
    /// K/V only, and its piece workspace.
    /// </summary>
    public static long DevicePerDevice(JobSpec spec, int devices)
    {
        long rows = (spec.Tokens + spec.Shards - 1) / spec.Shards;
        long size = spec.ComputeType.Size();
        long q = rows * spec.Heads * spec.HeadDim * size;
        long kv = 2 * rows * spec.KvHeads * spec.HeadDim * spec.KeyValueType.Size();
        long output = (rows * spec.Heads * spec.HeadDim * 4) + (rows * spec.Heads * 4);
        long shard = q + output + (spec.Attention == AttentionKind.Linear ? kv + LinearWorkspace(spec) : (kv * Math.Min(spec.Shards, 3)) + Fp8Scratch(spec, rows));
        return shard * ShardPlacement.MostShardsPerDevice(spec.Shards, devices);
    }

    /// <summary>The bfloat16 block a step dequantises an FP8 block into (<see cref="JobSpec.KeyValueType"/>), for blocks of <paramref name="rows"/> rows; 0 otherwise.</summary>
    private static long Fp8Scratch(JobSpec spec, long rows) =>
        spec.KeyValueType == spec.ComputeType ? 0 : 2 * rows * spec.KvHeads * spec.HeadDim * spec.ComputeType.Size();

    /// <summary>
    /// A linear-attention shard's device workspace besides its own q, K/V and o (no block travels): one piece's chunk
    /// states and prefixes (256 chunks; IlgpuAttentionBackend.Linear) and the carried state.
    /// </summary>
    private static long LinearWorkspace(JobSpec spec)
    {
        var linear = spec.ToLinearSpec();
        long state = (long)linear.StateHeads * ((spec.HeadDim * spec.HeadDim) + spec.HeadDim) * 4;
        return ((2 * 256) + 1) * state;
    }

    public static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        _ => $"{bytes} bytes",
    };
}
