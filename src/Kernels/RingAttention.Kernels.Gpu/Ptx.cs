using ILGPU.Runtime.Cuda;
using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>16 bytes: the element type of the dynamic shared buffer, so ILGPU declares it <c>.align 16</c>.</summary>
internal struct Chunk16
{
    public uint A;
    public uint B;
    public uint C;
    public uint D;
}

/// <summary>
/// Inline-PTX wrappers (sm_80 instructions; the driver JIT emits sm_90 SASS). All are AggressiveInlining so that
/// ILGPU promotes the Input/Output/Ref operand slots to registers (ptxas removes the .local round trips).
/// Shared addresses are 32-bit offsets in the shared window (<see cref="SharedBase"/>).
/// </summary>
internal static class Ptx
{
    /// <summary>Shared-window address of ILGPU's dynamic shared buffer (needs SharedMemory.GetDynamic in the kernel).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint SharedBase()
    {
        CudaAsm.Emit("mov.u32 %0, __dyn_shared_alloca;", out uint b);
        return b;
    }

    /// <summary>16-byte global to shared copy; <paramref name="srcBytes"/> 0 zero-fills the destination.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CpAsync16(uint dst, ulong src, uint srcBytes) =>
        CudaAsm.Emit("cp.async.cg.shared.global [%0], [%1], 16, %2;", dst, src, srcBytes);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CpAsyncCommit() => CudaAsm.Emit("cp.async.commit_group;");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void CpAsyncWaitAll() => CudaAsm.Emit("cp.async.wait_group 0;");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ldsm4(uint addr, out uint r0, out uint r1, out uint r2, out uint r3)
    {
        Output<uint> a = default, b = default, c = default, d = default;
        Input<uint> p = addr;
        CudaAsm.EmitRef("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];", ref a, ref b, ref c, ref d, ref p);
        r0 = a.Value;
        r1 = b.Value;
        r2 = c.Value;
        r3 = d.Value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Ldsm4T(uint addr, out uint r0, out uint r1, out uint r2, out uint r3)
    {
        Output<uint> a = default, b = default, c = default, d = default;
        Input<uint> p = addr;
        CudaAsm.EmitRef("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];", ref a, ref b, ref c, ref d, ref p);
        r0 = a.Value;
        r1 = b.Value;
        r2 = c.Value;
        r3 = d.Value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmaBf16(ref float c0, ref float c1, ref float c2, ref float c3, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        Ref<float> x0 = c0, x1 = c1, x2 = c2, x3 = c3;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, j0 = b0, j1 = b1;
        CudaAsm.EmitRef(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
            ref x0, ref x1, ref x2, ref x3, ref i0, ref i1, ref i2, ref i3, ref j0, ref j1);
        c0 = x0.Value;
        c1 = x1.Value;
        c2 = x2.Value;
        c3 = x3.Value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void MmaF16(ref float c0, ref float c1, ref float c2, ref float c3, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        Ref<float> x0 = c0, x1 = c1, x2 = c2, x3 = c3;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, j0 = b0, j1 = b1;
        CudaAsm.EmitRef(
            "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
            ref x0, ref x1, ref x2, ref x3, ref i0, ref i1, ref i2, ref i3, ref j0, ref j1);
        c0 = x0.Value;
        c1 = x1.Value;
        c2 = x2.Value;
        c3 = x3.Value;
    }

    /// <summary>Packs two floats as bf16x2, <paramref name="lo"/> in the low half (cvt puts its first source high).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint PackBf16(float lo, float hi)
    {
        CudaAsm.Emit("cvt.rn.bf16x2.f32 %0, %1, %2;", out uint r, hi, lo);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint PackF16(float lo, float hi)
    {
        CudaAsm.Emit("cvt.rn.f16x2.f32 %0, %1, %2;", out uint r, hi, lo);
        return r;
    }

    /// <summary>Bytes of {<paramref name="b"/>, <paramref name="a"/>} picked by the four nibbles of <paramref name="selector"/>
    /// (0x5410: the low halves of a and b; 0x7632: the high halves), one instruction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Prmt(uint a, uint b, uint selector)
    {
        CudaAsm.Emit("prmt.b32 %0, %1, %2, %3;", out uint r, a, b, selector);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Ex2(float x)
    {
        CudaAsm.Emit("ex2.approx.ftz.f32 %0, %1;", out float r, x);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Lg2(float x)
    {
        CudaAsm.Emit("lg2.approx.ftz.f32 %0, %1;", out float r, x);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Fma(float a, float b, float c)
    {
        CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float r, a, b, c);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b)
    {
        CudaAsm.Emit("max.f32 %0, %1, %2;", out float r, a, b);
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ShflXor(float x, int mask)
    {
        return ILGPU.Warp.ShuffleXor(x, mask);
    }

    /// <summary>Score <paramref name="s"/>, or -inf when the key is past the block or outside [dMin, dMax] of qpos - kpos.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Mask(float s, int delta, int col, int keyLimit, int dMin, int dMax) =>
        col < keyLimit && delta >= dMin && delta <= dMax ? s : float.NegativeInfinity;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaFence() => CudaAsm.Emit("wgmma.fence.sync.aligned;");

    /// <summary>Makes this thread's generic-proxy shared writes (cp.async included) visible to the async proxy (wgmma).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void FenceProxyAsync() => CudaAsm.Emit("fence.proxy.async.shared::cta;");

    /// <summary>
    /// wgmma shared-memory descriptor, 128-byte swizzle: start address, leading and stride byte offsets (>> 4 each),
    /// layout type 1 (SWIZZLE_128B) in bits 62–63. Tiles must start 1024-byte aligned (base offset 0).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Desc128(uint address, uint leadingBytes, uint strideBytes) =>
        ((ulong)((address & 0x3FFFFu) >> 4)) | ((ulong)(leadingBytes >> 4) << 16) | ((ulong)(strideBytes >> 4) << 32) | (1UL << 62);
}
