namespace RingAttention.Grains.Jobs;

/// <summary>What the coordinator sees of the cluster when it validates a job.</summary>
/// <param name="ActiveSilos">Silos in the Active state.</param>
/// <param name="Devices">(silo, device name, device memory) of every active silo that has an accelerator.</param>
public sealed record ClusterView(int ActiveSilos, IReadOnlyList<(string Silo, string Device, long MemoryBytes)> Devices)
{
    public ClusterShape Shape => new(HostPathSilos: Devices.Count < Math.Max(1, ActiveSilos), DeviceSilos: Devices.Count);
}
