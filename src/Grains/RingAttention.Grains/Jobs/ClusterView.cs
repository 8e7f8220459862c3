using RingAttention.Grains.Placement;

namespace RingAttention.Grains.Jobs;

/// <summary>What the coordinator sees of the cluster when it validates a job.</summary>
/// <param name="ActiveSilos">Silos in the Active state.</param>
/// <param name="Slots">The active silos that advertise devices, in ring order (<see cref="DeviceSlots"/>).</param>
public sealed record ClusterView(int ActiveSilos, IReadOnlyList<AdvertisedDevices> Slots)
{
    /// <summary>(silo, device name, device memory) of every accelerator of the active silos.</summary>
    public IReadOnlyList<(string Silo, string Device, long MemoryBytes)> Devices =>
        Slots.Where(s => s.Memory is not null)
            .SelectMany(s => s.Names.Select((name, i) => (s.Silo.ToParsableString(), name, i < s.Memory!.Count ? s.Memory[i] : 0L)))
            .ToList();

    /// <summary>Devices per silo in ring order (one per active silo when none advertises: the host path).</summary>
    public IReadOnlyList<int> DevicesPerSilo => Slots.Count > 0 ? Slots.Select(s => s.Count).ToList() : Enumerable.Repeat(1, Math.Max(1, ActiveSilos)).ToList();

    public ClusterShape Shape => new(
        HostPathSilos: Slots.Count < Math.Max(1, ActiveSilos) || Slots.Any(s => s.Memory is null),
        DeviceSilos: Slots.Count(s => s.Memory is not null));
}
