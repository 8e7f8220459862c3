using ILGPU;
using ILGPU.Runtime.Cuda;

namespace RingAttention.Kernels.Gpu;

/// <summary>Picks a GPU backend for a silo: CUDA when a device is present, otherwise the caller falls back to the CPU.</summary>
public static class GpuBackends
{
    /// <summary>
    /// Creates a <see cref="CudaAttentionBackend"/> on CUDA device <paramref name="deviceIndex"/>; false with the reason
    /// ("no CUDA device", the driver error, ...) when none can be had, so the silo can log it and use the CPU backend.
    /// </summary>
    public static bool TryCreateCuda(out IAttentionBackend? backend, out string reason, int deviceIndex = 0)
    {
        backend = null;
        Context? context = null;
        try
        {
            context = Context.Create(builder => builder.Cuda().Optimize(OptimizationLevel.Release));
            var devices = context.GetCudaDevices();
            if (devices.Count <= deviceIndex)
            {
                reason = devices.Count == 0 ? "no CUDA device found" : $"CUDA device {deviceIndex} requested but only {devices.Count} found";
                context.Dispose();
                return false;
            }

            var accelerator = (CudaAccelerator)devices[deviceIndex].CreateAccelerator(context);
            backend = new CudaAttentionBackend(context, accelerator, deviceIndex);
            reason = $"{backend.Name}: {accelerator.Name}, {accelerator.Architecture}, {accelerator.MemorySize / (1 << 20):N0} MiB";
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            context?.Dispose();
            reason = $"CUDA unavailable: {ex.GetType().Name}: {ex.Message}{(ex.InnerException is { } inner ? $" ({inner.GetBaseException().Message})" : string.Empty)}";
            return false;
        }
    }
}
