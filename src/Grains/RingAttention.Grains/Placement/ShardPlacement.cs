namespace RingAttention.Grains.Placement;

/// <summary>
/// The placement rule, in one place, over device slots: every device of every silo that advertises one, silos ordered
/// by address (so the silos of one host, which share an address prefix, are adjacent) and each silo's devices in
/// order. Shard i of an R-shard job goes to slot (start(job) + floor(i·D / R)) mod D of the D slots, where start(job)
/// is a stable hash of the job id: consecutive ring positions share a device, a device's neighbours in the ring are
/// its neighbours on the host, so a ring step crosses a device boundary D times (not R), and a cross-silo hop happens
/// only where the slots change silo. No device holds more than ceil(R / D) shards, which device admission budgets for.
/// </summary>
public static class ShardPlacement
{
    /// <summary>The silo (index into <paramref name="devicesPerSilo"/>) and its local device index that run shard <paramref name="shard"/>.</summary>
    /// <param name="devicesPerSilo">Devices of each silo, silos in ring order (a CPU silo counts one).</param>
    public static (int Silo, int Device) Place(string jobId, int shard, int shards, IReadOnlyList<int> devicesPerSilo)
    {
        int slot = Slot(jobId, shard, shards, devicesPerSilo.Sum(d => Math.Max(1, d)));
        for (int silo = 0; silo < devicesPerSilo.Count; silo++)
        {
            int devices = Math.Max(1, devicesPerSilo[silo]);
            if (slot < devices)
            {
                return (silo, slot);
            }

            slot -= devices;
        }

        throw new ArgumentException("no silo with a device", nameof(devicesPerSilo));
    }

    /// <summary>The slot of shard <paramref name="shard"/> among <paramref name="slots"/> device slots.</summary>
    public static int Slot(string jobId, int shard, int shards, int slots) =>
        (int)(((uint)StableHash(jobId) % (uint)slots + ((long)shard * slots / Math.Max(1, shards))) % slots);

    /// <summary>The most shards of an R-shard job that one of <paramref name="devices"/> devices holds: ceil(R / D).</summary>
    public static int MostShardsPerDevice(int shards, int devices) => (shards + Math.Max(1, devices) - 1) / Math.Max(1, devices);

    /// <summary>
    /// The most shards one silo holds: k consecutive slots of D receive at most ceil(k·R / D) of R shards, so the silo
    /// with the most devices bounds it (ceil(R / N) when every silo has one).
    /// </summary>
    public static int MostShardsPerSilo(int shards, IReadOnlyList<int> devicesPerSilo)
    {
        if (devicesPerSilo.Count == 0)
        {
            return shards;
        }

        long slots = devicesPerSilo.Sum(d => (long)Math.Max(1, d));
        long most = devicesPerSilo.Max(d => Math.Max(1, d));
        return (int)Math.Min(shards, ((most * shards) + slots - 1) / slots);
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
