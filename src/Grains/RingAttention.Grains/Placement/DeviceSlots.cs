using System.Globalization;
using Orleans.Runtime.MembershipService.SiloMetadata;

namespace RingAttention.Grains.Placement;

/// <summary>
/// The silos that advertise devices, in ring order (by address, so a host's silos are adjacent), with their devices:
/// what <see cref="ShardPlacement"/> places over. The director, the shards and admission all read it from the silo
/// metadata here, so they agree.
/// </summary>
public static class DeviceSlots
{
    /// <summary>(silo, device names, memory of each device or null for host memory) of every silo with a device, in ring order.</summary>
    public static IReadOnlyList<AdvertisedDevices> Of(ISiloMetadataCache metadata, IEnumerable<SiloAddress> silos) =>
        silos.Select(silo => Parse(silo, metadata.GetSiloMetadata(silo).Metadata))
            .OfType<AdvertisedDevices>()
            .OrderBy(s => s.Silo.ToParsableString(), StringComparer.Ordinal)
            .ToList();

    /// <summary>The devices one silo advertises, or null when it advertises none.</summary>
    public static AdvertisedDevices? Parse(SiloAddress silo, IReadOnlyDictionary<string, string> values)
    {
        if (!values.TryGetValue(SiloMetadataKeys.Device, out var names))
        {
            return null;
        }

        var list = names.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        long[]? memory = values.TryGetValue(SiloMetadataKeys.DeviceMemory, out var text)
            ? text.Split(',').Select(m => long.TryParse(m, NumberStyles.Integer, CultureInfo.InvariantCulture, out long b) ? b : 0).ToArray()
            : null;
        return new AdvertisedDevices(silo, list.Length == 0 ? ["device"] : list, memory);
    }
}

/// <summary>One silo's devices as its metadata advertises them.</summary>
/// <param name="Memory">Bytes of each accelerator (same order as <paramref name="Names"/>), or null for a CPU silo.</param>
public sealed record AdvertisedDevices(SiloAddress Silo, IReadOnlyList<string> Names, IReadOnlyList<long>? Memory)
{
    public int Count => Names.Count;
}
