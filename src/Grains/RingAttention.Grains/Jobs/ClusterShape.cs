namespace RingAttention.Grains.Jobs;

/// <summary>Which kinds of silo a job's shards may land on (what its memory estimate depends on).</summary>
/// <param name="HostPathSilos">Some active silo computes on the host (the CPU backend).</param>
/// <param name="DeviceSilos">Active silos with a device-resident backend.</param>
public sealed record ClusterShape(bool HostPathSilos, int DeviceSilos)
{
    public static ClusterShape HostOnly { get; } = new(true, 0);
}
