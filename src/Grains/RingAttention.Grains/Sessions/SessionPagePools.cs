using Microsoft.Extensions.Options;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Devices;

namespace RingAttention.Grains.Sessions;

/// <summary>One <see cref="KvPagePool"/> per compute device of the silo, sized by
/// <see cref="RingAttentionOptions.SessionMemoryBytes"/> (default: half an accelerator, a quarter of the silo's lent
/// host memory on the CPU).</summary>
public sealed class SessionPagePools(DeviceSet devices, IOptions<RingAttentionOptions> options)
{
    private readonly Dictionary<ComputeDevice, KvPagePool> _pools = devices.All.ToDictionary(d => d, d => new KvPagePool(d, Budget(d, options.Value)));

    public KvPagePool For(ComputeDevice device) => _pools[device];

    private static long Budget(ComputeDevice device, RingAttentionOptions options) =>
        options.SessionMemoryBytes > 0 ? options.SessionMemoryBytes
        : device.MemoryBytes is long memory ? memory / 2
        : options.EffectiveSiloMemoryBytes / 4;
}
