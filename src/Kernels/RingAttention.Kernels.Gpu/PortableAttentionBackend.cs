using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The portable ILGPU kernel (no inline PTX) on any accelerator; in CI it runs on ILGPU's CPU accelerator.
/// </summary>
public sealed class PortableAttentionBackend : IlgpuAttentionBackend
{
    private PortableAttentionBackend(Context context, Accelerator accelerator)
        : base(context, accelerator, ownsContext: true)
    {
    }

    public override string Name => $"ilgpu:{Accelerator.AcceleratorType.ToString().ToLowerInvariant()}";

    /// <summary>A backend on ILGPU's CPU accelerator (multi-threaded simulation of a GPU; for tests).</summary>
    public static PortableAttentionBackend CreateCpu()
    {
        var context = Context.Create(builder => builder.CPU().Optimize(OptimizationLevel.Release));
        try
        {
            return new PortableAttentionBackend(context, context.CreateCPUAccelerator(0));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }
}
