namespace RingAttention.Grains.Placement;

/// <summary>Keys a silo publishes in its Orleans silo metadata (immutable for the silo's lifetime).</summary>
public static class SiloMetadataKeys
{
    /// <summary>Compute device of the silo, e.g. "cpu" or "cuda:0". Only silos with this key receive shard grains.</summary>
    public const string Device = "ringattention.device";

    /// <summary>Bytes of memory of the silo's accelerator; absent on CPU silos.</summary>
    public const string DeviceMemory = "ringattention.device.memory";

    /// <summary>host:port of the silo's K/V data-plane listener.</summary>
    public const string DataEndpoint = "ringattention.data";
}
