using System.Globalization;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Kernels.Gpu;

namespace RingAttention.Silo.Hosting;

/// <summary>
/// Picks the silo's compute devices at start-up and says why. <c>Silo:Device</c> accepts "auto" (every CUDA device of
/// the host, else the CPU), "cuda" (every CUDA device, or fail), "cuda:N" or a list "cuda:0,cuda:1" (those devices),
/// "cpu", and "ilgpu-cpu" or "ilgpu-cpu:N" (N ILGPU CPU accelerators running the portable kernel: slow, for tests, but
/// they run the device-resident ring and the multi-device hand-offs without a GPU).
/// </summary>
public static class DeviceSelection
{
    /// <summary>The forms <see cref="Select"/> accepts, for messages.</summary>
    public static IReadOnlyList<string> Names { get; } = ["auto", "cpu", "cuda", "cuda:N", "cuda:0,cuda:1", "ilgpu-cpu", "ilgpu-cpu:N"];

    public static bool IsKnown(string device) => TryParse(device, out _);

    /// <summary>A parsed <c>Silo:Device</c>: the kind and, for CUDA, which devices (null: all); for ilgpu-cpu, how many.</summary>
    private sealed record Request(string Kind, IReadOnlyList<int>? CudaIndices, int Count);

    private static bool TryParse(string device, out Request request)
    {
        request = new Request("auto", null, 1);
        string text = device.Trim().ToLowerInvariant();
        switch (text)
        {
            case "auto" or "cpu" or "cuda" or "ilgpu-cpu":
                request = new Request(text, null, 1);
                return true;
        }

        if (text.StartsWith("ilgpu-cpu:", StringComparison.Ordinal))
        {
            bool ok = int.TryParse(text.AsSpan("ilgpu-cpu:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int count) && count is >= 1 and <= 16;
            request = new Request("ilgpu-cpu", null, count);
            return ok;
        }

        var indices = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries))
        {
            if (!part.StartsWith("cuda:", StringComparison.Ordinal)
                || !int.TryParse(part.AsSpan("cuda:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index) || indices.Contains(index))
            {
                return false;
            }

            indices.Add(index);
        }

        request = new Request("cuda", indices, indices.Count);
        return indices.Count > 0;
    }

    public static (DeviceSet Devices, string Reason) Select(string device, int computeThreads)
    {
        if (!TryParse(device, out var request))
        {
            throw new InvalidOperationException($"Silo:Device '{device}' is not one of {string.Join(", ", Names)}");
        }

        if (request.Kind == "ilgpu-cpu")
        {
            var portable = PortableAttentionBackend.CreateCpuSet(request.Count);
            return (Set(portable), $"ILGPU CPU accelerator{(request.Count > 1 ? $"s ({request.Count})" : string.Empty)} requested (Silo:Device={device}; device-resident ring, for tests)");
        }

        if (request.Kind != "cpu")
        {
            if (GpuBackends.TryCreateCudaSet(request.CudaIndices, out var cuda, out string why))
            {
                var loads = cuda.OfType<CudaAttentionBackend>().Select(b => b.Preload().TotalSeconds).ToList();
                if (loads.Count > 0)
                {
                    why += $"; tensor-core kernels loaded in {loads.Sum():0.0} s";
                }

                return (Set(cuda), why);
            }

            if (request.Kind == "cuda")
            {
                throw new InvalidOperationException($"Silo:Device is '{device}' but {why}");
            }

            return (Cpu(computeThreads), $"{why}; using the CPU backend");
        }

        return (Cpu(computeThreads), "CPU backend requested (Silo:Device=cpu)");
    }

    private static DeviceSet Set(IEnumerable<IAttentionBackend> backends) =>
        new([.. backends.Select(b => new ComputeDevice(b, Facts(b)))]);

    /// <summary>What the silo advertises of a device: its hardware name, memory, free memory and PCI address.</summary>
    private static DeviceFacts Facts(IAttentionBackend backend) => backend is IlgpuAttentionBackend ilgpu
        ? new DeviceFacts(backend.Name, ilgpu.HardwareName, backend.MemoryBytes, ilgpu.FreeBytes, ilgpu.PciBusId)
        : new DeviceFacts(backend.Name, backend.Name, backend.MemoryBytes, null, null);

    private static DeviceSet Cpu(int threads) =>
        new([new ComputeDevice(new CpuAttentionBackend(new CpuAttentionOptions { MaxDegreeOfParallelism = threads }))]);
}
