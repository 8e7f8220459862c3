using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One generated warp-specialized Hopper kernel (Generator/gen_hopper.py, <c>Hopper/{Entry}.g.ptx</c>, embedded) and what
/// launching it takes; the values come from the generator (<c>WarpSpecializedVariants.g.cs</c>).
/// </summary>
/// <param name="Threads">A producer warpgroup and two consumer warpgroups.</param>
/// <param name="BlockRows">Query rows per block (64 per consumer warpgroup).</param>
/// <param name="BlockKeys">Keys per K/V tile (one TMA box of a 128-byte part of a row x BlockKeys rows per part).</param>
/// <param name="Stages">K/V tiles in flight in shared memory.</param>
/// <param name="Short">The short-block variant: GQA heads packed into a tile and keys split over blocks as a
/// <see cref="WarpSpecializedPlan"/> says (the other runs the whole plan only, without their cost in registers).</param>
internal sealed record WarpSpecializedVariant(ElementType Type, int Dim, int Threads, int BlockRows, int BlockKeys, int Stages, int SharedBytes, string Entry, bool Short = false)
{
    public bool Serves(ElementType type, int dim, bool shortBlocks = false) => Type == type && Dim == dim && Short == shortBlocks;

    /// <summary>An e4m3 kernel: V transposed, descale factors (<see cref="Fp8Operands"/>).</summary>
    public bool Fp8 => Type == ElementType.F8E4M3;

    /// <summary>The kernel's PTX text (an embedded resource of this assembly).</summary>
    public string Ptx()
    {
        using var stream = typeof(WarpSpecializedVariant).Assembly.GetManifestResourceStream($"Hopper.{Entry}.g.ptx")
            ?? throw new InvalidOperationException($"the PTX of {Entry} is not embedded in {typeof(WarpSpecializedVariant).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
