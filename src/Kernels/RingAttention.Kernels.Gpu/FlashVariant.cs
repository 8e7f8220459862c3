using ILGPU;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One generated tensor-core kernel and what launching it takes. The values come from the generator
/// (<c>FlashVariants.g.cs</c>, written by Generator/gen_flash.py with the constants the kernel is written with), so the
/// launcher never restates the tile layout.
/// </summary>
/// <param name="Wgmma">The sm_90a wgmma kernel (warpgroups) rather than the mma.sync one (warps).</param>
/// <param name="Width">mma.sync: m16 slabs per warp; wgmma: warpgroups per block.</param>
/// <param name="SharedBytes">Dynamic shared memory per block (Q, K and V tiles, plus alignment slack for wgmma).</param>
internal sealed record FlashVariant(
    ElementType Type, int Dim, bool Wgmma, int Width, int Threads, int BlockRows, int BlockKeys, int SharedBytes,
    Action<FlashParams, ArrayView<float>, ArrayView<float>> Kernel)
{
    public string Name => Kernel.Method.Name;
}
