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
}
