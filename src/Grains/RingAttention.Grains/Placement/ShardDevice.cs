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

        // A device's shards are consecutive (the rule's slot grows with the index, and wraps once): walk out from this one.
        int first = index, last = index;
        while (first > 0 && ShardPlacement.Place(id, first - 1, count, perSilo) == place)
        {
            first--;
        }

        while (last < count - 1 && ShardPlacement.Place(id, last + 1, count, perSilo) == place)
        {
            last++;
        }

        return [.. Enumerable.Range(first, last - first + 1)];
    }
}
