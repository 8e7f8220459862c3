namespace RingAttention.Grains.Devices;

/// <summary>
/// The compute devices a silo owns, in local index order (e.g. every GPU of the host). Each has its own compute and
/// copy lanes; placement (<see cref="Placement.ShardPlacement"/>) says which of them runs a shard. Disposing the set
/// disposes the devices.
/// </summary>
public sealed class DeviceSet(IReadOnlyList<ComputeDevice> devices) : IDisposable
{
    public IReadOnlyList<ComputeDevice> All { get; } = devices.Count > 0 ? devices : throw new ArgumentException("a silo needs at least one device", nameof(devices));

    public int Count => All.Count;

    /// <summary>The device of local index <paramref name="index"/>; an index this silo does not have (placement saw another cluster) wraps.</summary>
    public ComputeDevice this[int index] => All[((index % Count) + Count) % Count];

    /// <summary>Names joined as the silo advertises them ("cuda:0,cuda:1").</summary>
    public string Names => string.Join(',', All.Select(d => d.Name));

    /// <summary>Bytes held by live handles on every device.</summary>
    public long ResidentBytes => All.Sum(d => d.ResidentBytes);

    public void Dispose()
    {
        foreach (var device in All)
        {
            device.Dispose();
        }
    }
}
