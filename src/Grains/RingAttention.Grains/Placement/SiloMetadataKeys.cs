namespace RingAttention.Grains.Placement;

/// <summary>Keys a silo publishes in its Orleans silo metadata (immutable for the silo's lifetime).</summary>
public static class SiloMetadataKeys
{
    /// <summary>
    /// Compute devices of the silo, comma-separated in local index order, e.g. "cpu" or "cuda:0,cuda:1". Only silos
    /// with this key receive shard grains.
    /// </summary>
    public const string Device = "ringattention.device";

    /// <summary>How many devices the silo owns (absent: one).</summary>
    public const string DeviceCount = "ringattention.device.count";

    /// <summary>Bytes of memory of each of the silo's accelerators, comma-separated in local index order; absent on CPU silos.</summary>
    public const string DeviceMemory = "ringattention.device.memory";

    /// <summary>
    /// Prefix of one key per device ("ringattention.device.0", ...): what an operator needs to tell devices apart,
    /// "name|hardware|memory bytes|free bytes at start|PCI bus id|host".
    /// </summary>
    public const string DeviceFactsPrefix = "ringattention.device.";

    /// <summary>host:port of the silo's K/V data-plane listener.</summary>
    public const string DataEndpoint = "ringattention.data";
}
