using RingAttention.Attention;
using RingAttention.Grains.Placement;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Refuses, before anything is scheduled, a job whose device-resident shards cannot fit on the smallest accelerator
/// of the cluster: a device holds at most ceil(R / D) of the R shards (<see cref="ShardPlacement"/>). More shards do
/// not help on one device (the whole job is resident there); more devices do.
/// </summary>
public static class DeviceAdmission
{
    /// <param name="devices">(silo, device name, device memory) of every accelerator of the active silos.</param>
    public static void Check(JobSpec spec, IReadOnlyList<(string Silo, string Device, long MemoryBytes)> devices)
    {
        long needed = JobMemory.DevicePerDevice(spec, devices.Count);
        int shardsPerDevice = ShardPlacement.MostShardsPerDevice(spec.Shards, devices.Count);
        foreach (var (silo, device, memory) in devices.OrderBy(d => d.MemoryBytes))
        {
            if (needed > memory)
            {
                throw new SpecValidationException("memory",
                    $"{shardsPerDevice} shard(s) per device need about {JobMemory.Format(needed)} of device memory but {device} on silo {silo} has {JobMemory.Format(memory)}; use more devices");
            }

            return;
        }
    }
}
