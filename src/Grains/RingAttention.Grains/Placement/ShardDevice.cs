using Orleans.Runtime.MembershipService.SiloMetadata;
using RingAttention.Grains.Devices;

namespace RingAttention.Grains.Placement;

/// <summary>
/// The device of a shard grain among its silo's: the one <see cref="ShardPlacement"/> gave it, from the same metadata
/// the placement director read (a silo that placement did not expect, after a failover, wraps the index). Job shards
/// and session shards both place this way.
/// </summary>
public static class ShardDevice
{
    public static ComputeDevice Of(DeviceSet devices, ISiloMetadataCache siloMetadata, IClusterMembershipService membership, SiloAddress here,
        string id, int index, int count)
    {
        if (devices.Count == 1)
        {
            return devices[0];
        }

        var active = membership.CurrentSnapshot.Members.Where(m => m.Value.Status == SiloStatus.Active).Select(m => m.Key);
        var slots = DeviceSlots.Of(siloMetadata, active);
        var (siloIndex, deviceIndex) = ShardPlacement.Place(id, index, count, slots.Select(s => s.Count).ToList());
        return slots[siloIndex].Silo.Equals(here) ? devices[deviceIndex] : devices[index];
    }

    /// <summary>
    /// The shards of the same job or session that the placement rule puts on the same device as shard
    /// <paramref name="index"/> (itself included), when the rule puts it on this silo; else only itself (it was
    /// re-activated elsewhere after a failover, and its neighbours' places say nothing about its own).
    /// </summary>
    public static IReadOnlyList<int> Sharing(ISiloMetadataCache siloMetadata, IClusterMembershipService membership, SiloAddress here,
        string id, int index, int count)
    {
        var active = membership.CurrentSnapshot.Members.Where(m => m.Value.Status == SiloStatus.Active).Select(m => m.Key);
        var slots = DeviceSlots.Of(siloMetadata, active);
        if (slots.Count == 0)
        {
            return [index];
        }

        var perSilo = slots.Select(s => s.Count).ToList();
        var place = ShardPlacement.Place(id, index, count, perSilo);
        if (!slots[place.Silo].Silo.Equals(here))
        {
            return [index];
        }

        return [.. Enumerable.Range(0, count).Where(j => ShardPlacement.Place(id, j, count, perSilo) == place)];
    }
}
