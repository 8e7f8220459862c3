namespace RingAttention.Grains.Devices;

/// <summary>
/// Which process of which host this is, as "host/boot id/pid": two silos whose identities share the host and boot id
/// but not the pid may share device memory (CUDA IPC); the boot id tells apart two machines (or containers of two
/// machines) that happen to share a host name.
/// </summary>
public static class ProcessIdentity
{
    public static string Current { get; } = $"{Environment.MachineName}/{BootId()}/{Environment.ProcessId}";

    /// <summary>True when <paramref name="other"/> is another process of this host (not this one, not another host).</summary>
    public static bool IsOtherProcessOfThisHost(string other) => IsOtherProcessOfSameHost(Current, other);

    public static bool IsOtherProcessOfSameHost(string self, string other)
    {
        int selfCut = self.LastIndexOf('/');
        int otherCut = other.LastIndexOf('/');
        return selfCut > 0 && otherCut > 0 && self.AsSpan(0, selfCut).SequenceEqual(other.AsSpan(0, otherCut)) && self != other;
    }

    private static string BootId()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "unknown-boot";
        }
    }
}
