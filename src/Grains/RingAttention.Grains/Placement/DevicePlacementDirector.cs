using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace RingAttention.Grains.Placement;

/// <summary>
/// Places shard grains by <see cref="ShardPlacement"/> over the silos that advertise a device. A placement hint in
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

        var withDevice = compatible
            .Where(silo => metadata.GetSiloMetadata(silo).Metadata.ContainsKey(SiloMetadataKeys.Device))
            .OrderBy(silo => silo.ToParsableString(), StringComparer.Ordinal)
            .ToArray();
        if (withDevice.Length == 0)
        {
            throw new OrleansException($"no silo advertises a compute device ('{SiloMetadataKeys.Device}' metadata) for {target.GrainIdentity}");
        }

        var (jobId, index) = ShardKeys.ParseShardKey(target.GrainIdentity.Key.ToString()!);
        return Task.FromResult(withDevice[ShardPlacement.SiloIndex(jobId, index, withDevice.Length)]);
    }
}
