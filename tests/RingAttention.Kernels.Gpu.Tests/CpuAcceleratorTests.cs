namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>The portable ILGPU kernel on ILGPU's CPU accelerator: runs in CI without a GPU.</summary>
public sealed class CpuAcceleratorTests : AttentionBackendTests
{
    protected override IAttentionBackend? Create(out string reason)
    {
        reason = string.Empty;
        return PortableAttentionBackend.CreateCpu();
    }
}
