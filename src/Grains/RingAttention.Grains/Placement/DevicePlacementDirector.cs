using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace RingAttention.Grains.Placement;

/// <summary>
/// Places shard grains by <see cref="ShardPlacement"/> over the devices of the silos that advertise them. A placement hint in
/// the request context wins, as with every built-in director.
/// </summary>
public sealed class DevicePlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hinted)
        {
            return Task.FromResult(hinted);
        }

        var slots = DeviceSlots.Of(metadata, compatible);
        if (slots.Count == 0)
        {
            throw new OrleansException($"no silo advertises a compute device ('{SiloMetadataKeys.Device}' metadata) for {target.GrainIdentity}");
        }

        var (jobId, index, count) = ShardKeys.ParseShardKey(target.GrainIdentity.Key.ToString()!);
        return Task.FromResult(slots[ShardPlacement.Place(jobId, index, count, slots.Select(s => s.Count).ToList()).Silo].Silo);
    }
}
