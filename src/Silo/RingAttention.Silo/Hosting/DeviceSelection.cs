using RingAttention.Grains.Devices;
using RingAttention.Kernels.Cpu;
using RingAttention.Kernels.Gpu;

namespace RingAttention.Silo.Hosting;

/// <summary>Picks the silo's compute backend at start-up and says why: CUDA when asked or present, else the CPU.</summary>
public static class DeviceSelection
{
    /// <summary>The values <see cref="Select"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "cpu", "cuda", "ilgpu-cpu"];

    public static bool IsKnown(string device) => Names.Contains(device, StringComparer.OrdinalIgnoreCase);

    /// <param name="device">
    /// "auto" (CUDA device 0 if there is one, else CPU), "cuda" (CUDA or fail), "cpu", or "ilgpu-cpu" (the portable
    /// kernel on ILGPU's CPU accelerator: slow, for tests, but it runs the device-resident ring without a GPU).
    /// </param>
    public static (ComputeDevice Device, string Reason) Select(string device, int computeThreads)
    {
        if (string.Equals(device, "ilgpu-cpu", StringComparison.OrdinalIgnoreCase))
        {
            var portable = PortableAttentionBackend.CreateCpu();
            return (new ComputeDevice(portable), "ILGPU CPU accelerator requested (Silo:Device=ilgpu-cpu; device-resident ring, for tests)");
        }

        if (!string.Equals(device, "cpu", StringComparison.OrdinalIgnoreCase))
        {
            if (GpuBackends.TryCreateCuda(out var cuda, out string why))
            {
                if (cuda is CudaAttentionBackend tensorCores)
                {
                    why += $"; tensor-core kernels loaded in {tensorCores.Preload().TotalSeconds:0.0} s";
                }

                return (new ComputeDevice(cuda!), why);
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
