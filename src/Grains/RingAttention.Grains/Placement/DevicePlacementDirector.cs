using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace RingAttention.Grains.Placement;

/// <summary>
/// Maps shard i of a job to the silos that advertise a device, ordered by address, round-robin from a job-dependent
/// start: consecutive shards land on different silos (the ring spreads over the cluster) and a job's shards spread
/// evenly. A placement hint in the request context wins, as with every built-in director.
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
        int start = (int)((uint)StableHash(jobId) % (uint)withDevice.Length);
        return Task.FromResult(withDevice[(start + index) % withDevice.Length]);
    }

    /// <summary>FNV-1a: string.GetHashCode is randomised per process, and every silo must agree.</summary>
    private static int StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return (int)hash;
    }
}
