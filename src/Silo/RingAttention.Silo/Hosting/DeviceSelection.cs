using RingAttention.Grains.Hosting;
using RingAttention.Kernels.Cpu;

namespace RingAttention.Silo.Hosting;

/// <summary>Picks the silo's compute backend at start-up and says why.</summary>
public static class DeviceSelection
{
    public static (ComputeDevice Device, string Reason) Select(string device, int computeThreads)
    {
        var cpu = new ComputeDevice(new CpuAttentionBackend(new CpuAttentionOptions { MaxDegreeOfParallelism = computeThreads }));
        string reason = string.Equals(device, "cpu", StringComparison.OrdinalIgnoreCase)
            ? "CPU backend requested (Silo:Device=cpu)"
            : "no CUDA backend in this build; using the CPU backend";
        return (cpu, reason);
    }
}
