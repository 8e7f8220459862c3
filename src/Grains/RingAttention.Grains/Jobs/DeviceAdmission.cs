using System.Globalization;
using Orleans.Runtime.MembershipService.SiloMetadata;
using RingAttention.Attention;
using RingAttention.Grains.Placement;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Refuses, before anything is scheduled, a job whose device-resident shards cannot fit on the smallest accelerator
/// of the cluster. More shards do not help on one device (the whole job is resident there); more devices do.
/// </summary>
public static class DeviceAdmission
{
    /// <param name="devices">(silo, device name, device memory) of every active silo that has an accelerator.</param>
    public static void Check(JobSpec spec, IEnumerable<(string Silo, string Device, long MemoryBytes)> devices)
    {
        var list = devices.ToList();
        long needed = JobMemory.DevicePerSilo(spec, list.Count);
        int shardsPerSilo = ShardPlacement.MostShardsPerSilo(spec.Shards, list.Count);
        foreach (var (silo, device, memory) in list.OrderBy(d => d.MemoryBytes))
        {
            if (needed > memory)
            {
                throw new SpecValidationException("memory",
                    $"{shardsPerSilo} shard(s) per device need about {JobMemory.Format(needed)} of device memory but {device} on silo {silo} has {JobMemory.Format(memory)}; use more silos with devices");
            }

            return;
        }
    }

    public static IEnumerable<(string Silo, string Device, long MemoryBytes)> Devices(ISiloMetadataCache metadata, IEnumerable<SiloAddress> silos)
    {
        foreach (var silo in silos)
        {
            var values = metadata.GetSiloMetadata(silo).Metadata;
            if (values.TryGetValue(SiloMetadataKeys.DeviceMemory, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long bytes))
            {
                yield return (silo.ToParsableString(), values.GetValueOrDefault(SiloMetadataKeys.Device, "device"), bytes);
            }
        }
    }
}
