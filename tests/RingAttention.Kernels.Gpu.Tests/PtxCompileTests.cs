using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// Compiles the generated tensor-core kernels to PTX on the CPU (no GPU needed): catches ILGPU front-end failures and
/// checks that the fragment code is straight-line registers (no .local arrays) with the expected instruction counts.
/// </summary>
public sealed class PtxCompileTests
{
    [Theory]
    [InlineData(nameof(FlashKernels.FlashBf16D128S2), 128, 2, "bf16")]
    [InlineData(nameof(FlashKernels.FlashF16D64S1), 64, 1, "f16")]
    public void FlashKernel_CompilesToPtx_WithMmaAndNoLocalArrays(string name, int dim, int slabs, string dtype)
    {
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.Release));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var method = typeof(FlashKernels).GetMethod(name)!;
        var spec = new KernelSpecialization(128, 2);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), spec);
        string ptx = compiled.PTXAssembly;
        int mmas = Count(ptx, "mma.sync.aligned.m16n8k16.row.col.f32." + dtype);
        // per key tile: Q K^T = slabs x 8 n-blocks x dim/16 k-steps; P V = slabs x dim/8 d-blocks x 4 key-steps.
        Assert.Equal((slabs * 8 * dim / 16) + (slabs * dim / 8 * 4), mmas);
        Assert.Equal(dim / 16 * (4 + slabs), Count(ptx, "ldmatrix.sync.aligned.m8n8.x4.shared.b16"));
        Assert.Equal(dim / 16 * 4, Count(ptx, "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16"));
        string? patched = PtxPatch.PromoteLocalDepots(ptx);
        Assert.NotNull(patched);
        Assert.DoesNotContain(".local", patched, StringComparison.Ordinal);
        Assert.Equal(mmas, Count(patched, "mma.sync.aligned.m16n8k16.row.col.f32." + dtype));
    }

    [Theory]
    [InlineData(nameof(FlashKernels.WgmmaBf16D128Wg2), 128, "bf16")]
    [InlineData(nameof(FlashKernels.WgmmaF16D64Wg1), 64, "f16")]
    public void WgmmaKernel_CompilesToPtx_WithExpectedWgmmaCount(string name, int dim, string dtype)
    {
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.Release));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var method = typeof(FlashKernels).GetMethod(name)!;
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), new KernelSpecialization(128, 2));
        string? patched = PtxPatch.PromoteLocalDepots(compiled.PTXAssembly);
        Assert.NotNull(patched);
        // per key tile: S = Q·Kᵀ in dim/16 k-steps of m64n64k16; O += P·V in 4 key-steps x dim/64 halves.
        Assert.Equal((dim / 16) + (4 * dim / 64), Count(patched, "wgmma.mma_async.sync.aligned.m64n64k16.f32." + dtype));
        Assert.DoesNotContain(".local", patched, StringComparison.Ordinal);
    }

    [Fact]
    public void PortableKernel_CompilesToPtx()
    {
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.Release));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var method = typeof(PortableKernel).GetMethod(nameof(PortableKernel.Run))!;
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), default);
        Assert.Contains(".entry", compiled.PTXAssembly, StringComparison.Ordinal);
    }

    /// <summary>
    /// The split-K kernel keeps its per-lane vectors in registers: after the PTX rewrite (its loads and ex2 are inline
    /// asm) no local memory; K/V through the read-only path, sixteen 8-byte loads a lane and turn (two keys, K and V,
    /// four quads each); the merge kernel needs no rewrite.
    /// </summary>
    [Fact]
    public void DecodeKernels_CompileToPtx_WithoutLocalMemory()
    {
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.Release));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var split = typeof(DecodeKernel).GetMethod(nameof(DecodeKernel.Split))!.MakeGenericMethod(typeof(Bf16Quad), typeof(PtxWordRead), typeof(PtxMath));
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(split), default);
        string? patched = PtxPatch.PromoteLocalDepots(compiled.PTXAssembly);
        Assert.NotNull(patched);
        Assert.DoesNotContain(".local", patched, StringComparison.Ordinal);
        Assert.Equal(16, Count(patched, "ld.global.nc.u64"));
        Assert.Contains("ex2.approx", patched, StringComparison.Ordinal);

        var merge = typeof(DecodeMerge).GetMethod(nameof(DecodeMerge.Run))!;
        string mergePtx = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(merge), default)).PTXAssembly;
        Assert.Contains(".entry", mergePtx, StringComparison.Ordinal);
        Assert.DoesNotContain(".local", mergePtx, StringComparison.Ordinal);
    }

    /// <summary>
    /// The tensor-core split kernel at d = 128, bf16 and f16, 8 and 16 vectors a warp (the same products either way): after the PTX rewrite no local memory (q, K, V words and the
    /// output tiles stay in registers), one turn of 16 keys = 8 k-tiles for each of the two S tiles and 16 output n-tiles =
    /// 32 mma, each V operand one byte permute, and 32 read-only 8-byte loads a lane (two K rows of 8 words, four V rows of 4).
    /// </summary>
    [Theory]
    [InlineData("bf16", false)]
    [InlineData("f16", false)]
    [InlineData("bf16", true)]
    public void DecodeMmaKernel_CompileToPtx_WithMmaInRegisters(string dtype, bool wide)
    {
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.Release));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(CudaAttentionBackend.DecodeMma(type, 128, wide)), default);
        string? patched = PtxPatch.PromoteLocalDepots(compiled.PTXAssembly);
        Assert.NotNull(patched);
        Assert.DoesNotContain(".local", patched, StringComparison.Ordinal);
        Assert.Equal(32, Count(patched, $"mma.sync.aligned.m16n8k16.row.col.f32.{dtype}.{dtype}.f32"));
        // The loads twice: a whole turn's without row guards and the chunk's last turn's with them.
        Assert.Equal(64, Count(patched, "ld.global.nc.u64"));
        Assert.Equal(32, Count(patched, "prmt.b32"));
        // P packed once for rows 0-7; a wide warp packs rows 8-15 too.
        Assert.Equal(wide ? 4 : 2, Count(patched, $"cvt.rn.{dtype}x2.f32"));
    }

    /// <summary>
    /// The linear-attention tensor-core kernels: their products are TF32 mma in registers after the PTX rewrite. ILGPU
    /// keeps the k-step loops as loops, so the text holds one k-step of each product: a chunk state's 16 n-tiles (two
    /// halves of 8), and in the output kernel 4 n-tiles of the state product, one score tile and 4 n-tiles of P·V.
    /// </summary>
    [Theory]
    [InlineData(nameof(LinearTensorKernels.ChunkStates), 16)]
    [InlineData(nameof(LinearTensorKernels.Output), 4 + 1 + 4)]
    public void LinearTensorKernels_CompileToPtx_WithTf32MmaInRegisters(string name, int mmas)
    {
        using var context = Context.Create(b => b.Optimize(OptimizationLevel.Release));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_80), CudaArchitecture.SM_80, CudaInstructionSet.ISA_80, null);
        var method = name == nameof(LinearTensorKernels.Output) ? CudaAttentionBackend.Tf32Output : CudaAttentionBackend.Tf32States;
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), new KernelSpecialization(LinearTensorKernels.Threads, 2));
        string? patched = PtxPatch.PromoteLocalDepots(compiled.PTXAssembly);
        Assert.NotNull(patched);
        Assert.DoesNotContain(".local", patched, StringComparison.Ordinal);
        Assert.Equal(mmas, Count(patched, "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"));
    }

    private static int Count(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
