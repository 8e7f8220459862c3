using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The portable ILGPU kernel (no inline PTX) on any accelerator; in CI it runs on ILGPU's CPU accelerator.
/// </summary>
public sealed class PortableAttentionBackend : IlgpuAttentionBackend
{
    private PortableAttentionBackend(ContextLease context, Accelerator accelerator, string name)
        : base(context, accelerator)
    {
        Name = name;
    }

    public override string Name { get; }

    /// <summary>A backend on ILGPU's CPU accelerator (multi-threaded simulation of a GPU; for tests).</summary>
    public static PortableAttentionBackend CreateCpu() => CreateCpuSet(1)[0];

    /// <summary>
    /// <paramref name="count"/> ILGPU CPU accelerators of one context, with peer access between them: several devices
    /// of one silo, without a GPU (CI runs the multi-device ring on them).
    /// </summary>
    public static IReadOnlyList<PortableAttentionBackend> CreateCpuSet(int count) => CreateCpuSet(count, CPUDeviceKind.Default);

    /// <summary>
    /// <see cref="CreateCpuSet(int)"/> on a CPU device shaped like <paramref name="kind"/>'s GPUs: NVIDIA's has warps of
    /// 32 lanes (the default one 4), so the kernels' warp-wide paths run as on a GPU (tests of head dims whose lanes span
    /// more than 4 lanes).
    /// </summary>
    internal static IReadOnlyList<PortableAttentionBackend> CreateCpuSet(int count, CPUDeviceKind kind)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var context = Context.Create(builder => builder.CPU(kind).Optimize(OptimizationLevel.Release));
        var lease = new ContextLease(context, count);
        var created = new List<PortableAttentionBackend>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                created.Add(new PortableAttentionBackend(lease, context.CreateCPUAccelerator(0), count == 1 ? "ilgpu:cpu" : $"ilgpu:cpu:{i}"));
            }

            PeerAccess.EnableAll(created);
            return created;
        }
        catch
        {
            foreach (var backend in created)
            {
                backend.Dispose();
            }

            if (created.Count < count)
            {
                context.Dispose();
            }

            throw;
        }
    }
}
