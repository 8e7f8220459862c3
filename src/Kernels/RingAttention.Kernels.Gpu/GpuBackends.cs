using ILGPU;
using ILGPU.Runtime.Cuda;

namespace RingAttention.Kernels.Gpu;

/// <summary>Picks GPU backends for a silo: CUDA devices when present, otherwise the caller falls back to the CPU.</summary>
public static class GpuBackends
{
    /// <summary>Creates a <see cref="CudaAttentionBackend"/> on CUDA device <paramref name="deviceIndex"/>; see <see cref="TryCreateCudaSet"/>.</summary>
    public static bool TryCreateCuda(out IAttentionBackend? backend, out string reason, int deviceIndex = 0)
    {
        bool created = TryCreateCudaSet([deviceIndex], out var set, out reason);
        backend = created ? set[0] : null;
        return created;
    }

    /// <summary>
    /// Creates one <see cref="CudaAttentionBackend"/> per CUDA device of <paramref name="deviceIndices"/> (null: every
    /// device of the host), in one context with peer access between every pair that supports it; false with the reason
    /// ("no CUDA device", the driver error, ...) when none can be had, so the silo can log it and use the CPU backend.
    /// </summary>
    public static bool TryCreateCudaSet(IReadOnlyList<int>? deviceIndices, out IReadOnlyList<IAttentionBackend> backends, out string reason)
    {
        backends = [];
        Context? context = null;
        var created = new List<CudaAttentionBackend>();
        int wanted = 0;
        try
        {
            context = Context.Create(builder => builder.Cuda().Optimize(OptimizationLevel.Release));
            var devices = context.GetCudaDevices();
            int found = devices.Count;
            var indices = deviceIndices ?? Enumerable.Range(0, found).ToList();
            if (devices.Count == 0 || indices.Count == 0)
            {
                reason = "no CUDA device found";
                context.Dispose();
                return false;
            }

            var missing = indices.Where(i => i < 0 || i >= found).ToList();
            if (missing.Count > 0)
            {
                reason = $"CUDA device {missing[0]} requested but only {found} found";
                context.Dispose();
                return false;
            }

            wanted = indices.Count;
            var lease = new ContextLease(context, wanted);
            foreach (int index in indices)
            {
                created.Add(new CudaAttentionBackend(lease, (CudaAccelerator)devices[index].CreateAccelerator(context), index));
            }

            int peers = PeerAccess.EnableAll(created);
            backends = created;
            reason = string.Join("; ", created.Select(b => $"{b.Name}: {b.Accelerator.Name}, {((CudaAccelerator)b.Accelerator).Architecture}, {b.Accelerator.MemorySize / (1 << 20):N0} MiB"))
                + (created.Count > 1 ? $"; peer access between {peers} of {created.Count * (created.Count - 1)} ordered pairs" : string.Empty);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Each backend releases its share of the context; the shares of backends never made are released here.
            foreach (var backend in created)
            {
                backend.Dispose();
            }

            if (created.Count < wanted || wanted == 0)
            {
                context?.Dispose();
            }

            reason = $"CUDA unavailable: {ex.GetType().Name}: {ex.Message}{(ex.InnerException is { } inner ? $" ({inner.GetBaseException().Message})" : string.Empty)}";
            return false;
        }
    }
}
