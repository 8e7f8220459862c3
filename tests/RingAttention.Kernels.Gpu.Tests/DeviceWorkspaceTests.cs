using ILGPU;
using ILGPU.Runtime.CPU;

namespace RingAttention.Kernels.Gpu.Tests;

public sealed class DeviceWorkspaceTests
{
    [Fact]
    public void Ensure_MoreThanFree_ThrowsWithNeededAndFreeBytes()
    {
        using var context = Context.Create(b => b.CPU());
        using var accelerator = context.CreateCPUAccelerator(0);
        using var ws = new DeviceWorkspace(accelerator, freeBytes: () => 1_000);
        var ex = Assert.Throws<DeviceMemoryException>(() => ws.Ensure(4_096, 2_048, 2_048, 1_024, 64));
        Assert.Equal(4_096 + 2_048 + 2_048 + (4 * (1_024 + 64)), ex.NeededBytes);
        Assert.Equal(1_000, ex.FreeBytes);
        Assert.Contains("12,544", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1,000", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ensure_SameOrSmallerRequest_AllocatesNothingNew()
    {
        using var context = Context.Create(b => b.CPU());
        using var accelerator = context.CreateCPUAccelerator(0);
        using var ws = new DeviceWorkspace(accelerator);
        ws.Ensure(1_024, 512, 512, 256, 16);
        var q = ws.Q;
        var o = ws.O;
        ws.Ensure(512, 512, 256, 128, 16);
        Assert.Same(q, ws.Q);
        Assert.Same(o, ws.O);
    }
}
