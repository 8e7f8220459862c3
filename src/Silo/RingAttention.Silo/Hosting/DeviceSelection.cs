using RingAttention.Grains.Hosting;
using RingAttention.Kernels.Cpu;
using RingAttention.Kernels.Gpu;

namespace RingAttention.Silo.Hosting;

/// <summary>Picks the silo's compute backend at start-up and says why: CUDA when asked or present, else the CPU.</summary>
public static class DeviceSelection
{
    /// <param name="device">"auto" (CUDA device 0 if there is one, else CPU), "cuda" (CUDA or fail) or "cpu".</param>
    public static (ComputeDevice Device, string Reason) Select(string device, int computeThreads)
    {
        if (!string.Equals(device, "cpu", StringComparison.OrdinalIgnoreCase))
        {
            if (GpuBackends.TryCreateCuda(out var cuda, out string why))
            {
                return (new ComputeDevice(cuda!, (cuda as IlgpuAttentionBackend)?.DeviceMemoryBytes), why);
            }

            if (string.Equals(device, "cuda", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"Silo:Device is 'cuda' but {why}");
            }

            return (Cpu(computeThreads), $"{why}; using the CPU backend");
        }

        return (Cpu(computeThreads), "CPU backend requested (Silo:Device=cpu)");
    }

    private static ComputeDevice Cpu(int threads) =>
        new(new CpuAttentionBackend(new CpuAttentionOptions { MaxDegreeOfParallelism = threads }));
}
