using ILGPU;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One generated tensor-core kernel and what launching it takes. The values come from the generator
/// (<c>FlashVariants.g.cs</c>, written by Generator/gen_flash.py with the constants the kernel is written with), so the
/// launcher never restates the tile layout.
/// </summary>
/// <param name="MinDim">The smallest head dim it serves.</param>
/// <param name="Dim">The largest head dim it serves (a multiple of 8 from MinDim to Dim); MinDim = Dim for the kernels
/// written for one head dim, whose D is a constant.</param>
/// <param name="Tile">Columns of its shared-memory tiles (64, 128 or 256): columns past the head dim are zero-filled.</param>
/// <param name="Wgmma">The sm_90a wgmma kernel (warpgroups) rather than the mma.sync one (warps).</param>
/// <param name="Width">mma.sync: m16 slabs per warp; wgmma: warpgroups per block.</param>
/// <param name="SharedBytes">Dynamic shared memory per block (Q, K and V tiles, plus alignment slack for wgmma).</param>
internal sealed record FlashVariant(
    ElementType Type, int MinDim, int Dim, int Tile, bool Wgmma, int Width, int Threads, int BlockRows, int BlockKeys, int SharedBytes,
    Action<FlashParams, ArrayView<float>, ArrayView<float>> Kernel)
{
    public string Name => Kernel.Method.Name;

    /// <summary>Written for this one head dim (D a constant), rather than for a class of them.</summary>
    public bool Exact => MinDim == Dim;

    public bool Serves(ElementType type, int dim) => Type == type && dim >= MinDim && dim <= Dim && dim % 8 == 0;
}
