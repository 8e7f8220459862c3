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
    /// How many of the <paramref name="count"/> shards of <paramref name="id"/> placement puts on the device of shard
    /// <paramref name="index"/> (it included): the attends a session's turn on that device waits for. 1 when this silo is
    /// not where placement put it (after a failover: no waiting on a guess).
    /// </summary>
    public static int Sharers(ISiloMetadataCache siloMetadata, IClusterMembershipService membership, SiloAddress here, string id, int index, int count)
    {
        var active = membership.CurrentSnapshot.Members.Where(m => m.Value.Status == SiloStatus.Active).Select(m => m.Key);
        var slots = DeviceSlots.Of(siloMetadata, active);
        if (slots.Count == 0)
        {
            return 1;
        }

        var perSilo = slots.Select(s => s.Count).ToList();
        var mine = ShardPlacement.Place(id, index, count, perSilo);
        return slots[mine.Silo].Silo.Equals(here)
            ? Enumerable.Range(0, count).Count(j => ShardPlacement.Place(id, j, count, perSilo) == mine)
            : 1;
    }
}
