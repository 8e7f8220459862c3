using ILGPU;
using ILGPU.Runtime.CPU;

namespace RingAttention.Kernels.Gpu.Tests;

public sealed class DeviceBufferPoolTests
{
    [Fact]
    public void Rent_MoreThanFree_ThrowsWithNeededAndFreeBytes_AndCountsNothing()
    {
        using var context = Context.Create(b => b.CPU());
        using var accelerator = context.CreateCPUAccelerator(0);
        using var pool = new DeviceBufferPool(accelerator, freeBytes: () => 1_000);

        var ex = Assert.Throws<DeviceMemoryException>(() => pool.Rent(12_000, "a K/V block"));

        Assert.Equal(12_288, ex.NeededBytes); // rounded to the 4 KiB size class
        Assert.Equal(1_000, ex.FreeBytes);
        Assert.Contains("12,288", ex.Message, StringComparison.Ordinal);
        Assert.Contains("a K/V block", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, pool.LiveBytes);
    }

    [Fact]
    public void Rent_AfterReturnOfSameSizeClass_ReusesTheBuffer()
    {
        using var context = Context.Create(b => b.CPU());
        using var accelerator = context.CreateCPUAccelerator(0);
        using var pool = new DeviceBufferPool(accelerator);
        var keep = pool.Rent(100, "kept alive, so the pool is not emptied");
        var first = pool.Rent(5_000, "first");
        pool.Return(first);

        var second = pool.Rent(6_000, "second, same 8 KiB class");

        Assert.Same(first, second);
        Assert.Equal(2, pool.Allocations);
        pool.Return(second);
        pool.Return(keep);
        Assert.Equal(0, pool.PooledBytes); // no live handle: the pool is emptied
    }
}
