using Orleans.Placement;

namespace RingAttention.Grains.Placement;

/// <summary>Places shard grains on silos that advertise a compute device (see <see cref="DevicePlacementDirector"/>).</summary>
[Serializable]
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.DevicePlacement")]
public sealed class DevicePlacementStrategy : PlacementStrategy
{
    public static DevicePlacementStrategy Instance { get; } = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class DevicePlacementAttribute() : PlacementAttribute(DevicePlacementStrategy.Instance);
