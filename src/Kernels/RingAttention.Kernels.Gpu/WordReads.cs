using System.Runtime.CompilerServices;
using ILGPU.Runtime.Cuda;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// An 8-byte read at a device address (8-byte aligned). The split-K decode kernel walks a table of K/V runs that lie in
/// many allocations (a session shard's pages), which ILGPU views cannot express in one launch; an address can. Each
/// accelerator kind has its own: a struct type argument, so the kernel holds no branch on it.
/// </summary>
internal interface IWordRead
{
    ulong Read(long address);
}

/// <summary>ILGPU's CPU accelerator: its buffers are host memory and its kernels run as .NET code.</summary>
internal readonly struct HostWordRead : IWordRead
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe ulong Read(long address) => *(ulong*)address;
}

/// <summary>CUDA: a global load through the read-only path (K/V do not change during a launch).</summary>
internal readonly struct PtxWordRead : IWordRead
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Read(long address)
    {
        CudaAsm.Emit("ld.global.nc.u64 %0, [%1];", out ulong word, address);
        return word;
    }
}
