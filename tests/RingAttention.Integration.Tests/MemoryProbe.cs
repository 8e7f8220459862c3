namespace RingAttention.Integration.Tests;

/// <summary>Resident memory of a process from /proc: current and high-water mark (VmHWM).</summary>
public static class MemoryProbe
{
    public static long PeakBytes(int pid) => Read(pid, "VmHWM:");

    public static long CurrentBytes(int pid) => Read(pid, "VmRSS:");

    private static long Read(int pid, string key)
    {
        string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key, StringComparison.Ordinal));
        return long.Parse(line[key.Length..].Trim().Split(' ')[0]) * 1024;
    }
}
