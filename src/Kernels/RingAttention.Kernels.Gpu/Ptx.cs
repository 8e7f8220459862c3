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

    /// <summary>wgmma m64n64k16 (sm_90a), A (bf16) from registers, B from shared memory through <paramref name="desc"/>, K-major; D += A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaBf16(ref float d0, ref float d1, ref float d2, ref float d3, ref float d4, ref float d5, ref float d6, ref float d7, ref float d8, ref float d9, ref float d10, ref float d11, ref float d12, ref float d13, ref float d14, ref float d15, ref float d16, ref float d17, ref float d18, ref float d19, ref float d20, ref float d21, ref float d22, ref float d23, ref float d24, ref float d25, ref float d26, ref float d27, ref float d28, ref float d29, ref float d30, ref float d31, uint a0, uint a1, uint a2, uint a3, ulong desc)
    {
        Ref<float> x0 = d0;
        Ref<float> x1 = d1;
        Ref<float> x2 = d2;
        Ref<float> x3 = d3;
        Ref<float> x4 = d4;
        Ref<float> x5 = d5;
        Ref<float> x6 = d6;
        Ref<float> x7 = d7;
        Ref<float> x8 = d8;
        Ref<float> x9 = d9;
        Ref<float> x10 = d10;
        Ref<float> x11 = d11;
        Ref<float> x12 = d12;
        Ref<float> x13 = d13;
        Ref<float> x14 = d14;
        Ref<float> x15 = d15;
        Ref<float> x16 = d16;
        Ref<float> x17 = d17;
        Ref<float> x18 = d18;
        Ref<float> x19 = d19;
        Ref<float> x20 = d20;
        Ref<float> x21 = d21;
        Ref<float> x22 = d22;
        Ref<float> x23 = d23;
        Ref<float> x24 = d24;
        Ref<float> x25 = d25;
        Ref<float> x26 = d26;
        Ref<float> x27 = d27;
        Ref<float> x28 = d28;
        Ref<float> x29 = d29;
        Ref<float> x30 = d30;
        Ref<float> x31 = d31;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, one = 1u;
        Input<ulong> b = desc;
        CudaAsm.EmitRef(
            "{ .reg .pred p; setp.ne.b32 p, %37, 0; wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 0; }",
            ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7, ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15, ref x16, ref x17, ref x18, ref x19, ref x20, ref x21, ref x22, ref x23, ref x24, ref x25, ref x26, ref x27, ref x28, ref x29, ref x30, ref x31, ref i0, ref i1, ref i2, ref i3, ref b, ref one);
        d0 = x0.Value;
        d1 = x1.Value;
        d2 = x2.Value;
        d3 = x3.Value;
        d4 = x4.Value;
        d5 = x5.Value;
        d6 = x6.Value;
        d7 = x7.Value;
        d8 = x8.Value;
        d9 = x9.Value;
        d10 = x10.Value;
        d11 = x11.Value;
        d12 = x12.Value;
        d13 = x13.Value;
        d14 = x14.Value;
        d15 = x15.Value;
        d16 = x16.Value;
        d17 = x17.Value;
        d18 = x18.Value;
        d19 = x19.Value;
        d20 = x20.Value;
        d21 = x21.Value;
        d22 = x22.Value;
        d23 = x23.Value;
        d24 = x24.Value;
        d25 = x25.Value;
        d26 = x26.Value;
        d27 = x27.Value;
        d28 = x28.Value;
        d29 = x29.Value;
        d30 = x30.Value;
        d31 = x31.Value;
    }

    /// <summary>wgmma m64n64k16 (sm_90a), A (bf16) from registers, B from shared memory through <paramref name="desc"/>, MN-major (transposed); D += A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaBf16T(ref float d0, ref float d1, ref float d2, ref float d3, ref float d4, ref float d5, ref float d6, ref float d7, ref float d8, ref float d9, ref float d10, ref float d11, ref float d12, ref float d13, ref float d14, ref float d15, ref float d16, ref float d17, ref float d18, ref float d19, ref float d20, ref float d21, ref float d22, ref float d23, ref float d24, ref float d25, ref float d26, ref float d27, ref float d28, ref float d29, ref float d30, ref float d31, uint a0, uint a1, uint a2, uint a3, ulong desc)
    {
        Ref<float> x0 = d0;
        Ref<float> x1 = d1;
        Ref<float> x2 = d2;
        Ref<float> x3 = d3;
        Ref<float> x4 = d4;
        Ref<float> x5 = d5;
        Ref<float> x6 = d6;
        Ref<float> x7 = d7;
        Ref<float> x8 = d8;
        Ref<float> x9 = d9;
        Ref<float> x10 = d10;
        Ref<float> x11 = d11;
        Ref<float> x12 = d12;
        Ref<float> x13 = d13;
        Ref<float> x14 = d14;
        Ref<float> x15 = d15;
        Ref<float> x16 = d16;
        Ref<float> x17 = d17;
        Ref<float> x18 = d18;
        Ref<float> x19 = d19;
        Ref<float> x20 = d20;
        Ref<float> x21 = d21;
        Ref<float> x22 = d22;
        Ref<float> x23 = d23;
        Ref<float> x24 = d24;
        Ref<float> x25 = d25;
        Ref<float> x26 = d26;
        Ref<float> x27 = d27;
        Ref<float> x28 = d28;
        Ref<float> x29 = d29;
        Ref<float> x30 = d30;
        Ref<float> x31 = d31;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, one = 1u;
        Input<ulong> b = desc;
        CudaAsm.EmitRef(
            "{ .reg .pred p; setp.ne.b32 p, %37, 0; wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 1; }",
            ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7, ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15, ref x16, ref x17, ref x18, ref x19, ref x20, ref x21, ref x22, ref x23, ref x24, ref x25, ref x26, ref x27, ref x28, ref x29, ref x30, ref x31, ref i0, ref i1, ref i2, ref i3, ref b, ref one);
        d0 = x0.Value;
        d1 = x1.Value;
        d2 = x2.Value;
        d3 = x3.Value;
        d4 = x4.Value;
        d5 = x5.Value;
        d6 = x6.Value;
        d7 = x7.Value;
        d8 = x8.Value;
        d9 = x9.Value;
        d10 = x10.Value;
        d11 = x11.Value;
        d12 = x12.Value;
        d13 = x13.Value;
        d14 = x14.Value;
        d15 = x15.Value;
        d16 = x16.Value;
        d17 = x17.Value;
        d18 = x18.Value;
        d19 = x19.Value;
        d20 = x20.Value;
        d21 = x21.Value;
        d22 = x22.Value;
        d23 = x23.Value;
        d24 = x24.Value;
        d25 = x25.Value;
        d26 = x26.Value;
        d27 = x27.Value;
        d28 = x28.Value;
        d29 = x29.Value;
        d30 = x30.Value;
        d31 = x31.Value;
    }

    /// <summary>wgmma m64n64k16 (sm_90a), A (f16) from registers, B from shared memory through <paramref name="desc"/>, K-major; D += A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaF16(ref float d0, ref float d1, ref float d2, ref float d3, ref float d4, ref float d5, ref float d6, ref float d7, ref float d8, ref float d9, ref float d10, ref float d11, ref float d12, ref float d13, ref float d14, ref float d15, ref float d16, ref float d17, ref float d18, ref float d19, ref float d20, ref float d21, ref float d22, ref float d23, ref float d24, ref float d25, ref float d26, ref float d27, ref float d28, ref float d29, ref float d30, ref float d31, uint a0, uint a1, uint a2, uint a3, ulong desc)
    {
        Ref<float> x0 = d0;
        Ref<float> x1 = d1;
        Ref<float> x2 = d2;
        Ref<float> x3 = d3;
        Ref<float> x4 = d4;
        Ref<float> x5 = d5;
        Ref<float> x6 = d6;
        Ref<float> x7 = d7;
        Ref<float> x8 = d8;
        Ref<float> x9 = d9;
        Ref<float> x10 = d10;
        Ref<float> x11 = d11;
        Ref<float> x12 = d12;
        Ref<float> x13 = d13;
        Ref<float> x14 = d14;
        Ref<float> x15 = d15;
        Ref<float> x16 = d16;
        Ref<float> x17 = d17;
        Ref<float> x18 = d18;
        Ref<float> x19 = d19;
        Ref<float> x20 = d20;
        Ref<float> x21 = d21;
        Ref<float> x22 = d22;
        Ref<float> x23 = d23;
        Ref<float> x24 = d24;
        Ref<float> x25 = d25;
        Ref<float> x26 = d26;
        Ref<float> x27 = d27;
        Ref<float> x28 = d28;
        Ref<float> x29 = d29;
        Ref<float> x30 = d30;
        Ref<float> x31 = d31;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, one = 1u;
        Input<ulong> b = desc;
        CudaAsm.EmitRef(
            "{ .reg .pred p; setp.ne.b32 p, %37, 0; wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 0; }",
            ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7, ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15, ref x16, ref x17, ref x18, ref x19, ref x20, ref x21, ref x22, ref x23, ref x24, ref x25, ref x26, ref x27, ref x28, ref x29, ref x30, ref x31, ref i0, ref i1, ref i2, ref i3, ref b, ref one);
        d0 = x0.Value;
        d1 = x1.Value;
        d2 = x2.Value;
        d3 = x3.Value;
        d4 = x4.Value;
        d5 = x5.Value;
        d6 = x6.Value;
        d7 = x7.Value;
        d8 = x8.Value;
        d9 = x9.Value;
        d10 = x10.Value;
        d11 = x11.Value;
        d12 = x12.Value;
        d13 = x13.Value;
        d14 = x14.Value;
        d15 = x15.Value;
        d16 = x16.Value;
        d17 = x17.Value;
        d18 = x18.Value;
        d19 = x19.Value;
        d20 = x20.Value;
        d21 = x21.Value;
        d22 = x22.Value;
        d23 = x23.Value;
        d24 = x24.Value;
        d25 = x25.Value;
        d26 = x26.Value;
        d27 = x27.Value;
        d28 = x28.Value;
        d29 = x29.Value;
        d30 = x30.Value;
        d31 = x31.Value;
    }

    /// <summary>wgmma m64n64k16 (sm_90a), A (f16) from registers, B from shared memory through <paramref name="desc"/>, MN-major (transposed); D += A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaF16T(ref float d0, ref float d1, ref float d2, ref float d3, ref float d4, ref float d5, ref float d6, ref float d7, ref float d8, ref float d9, ref float d10, ref float d11, ref float d12, ref float d13, ref float d14, ref float d15, ref float d16, ref float d17, ref float d18, ref float d19, ref float d20, ref float d21, ref float d22, ref float d23, ref float d24, ref float d25, ref float d26, ref float d27, ref float d28, ref float d29, ref float d30, ref float d31, uint a0, uint a1, uint a2, uint a3, ulong desc)
    {
        Ref<float> x0 = d0;
        Ref<float> x1 = d1;
        Ref<float> x2 = d2;
        Ref<float> x3 = d3;
        Ref<float> x4 = d4;
        Ref<float> x5 = d5;
        Ref<float> x6 = d6;
        Ref<float> x7 = d7;
        Ref<float> x8 = d8;
        Ref<float> x9 = d9;
        Ref<float> x10 = d10;
        Ref<float> x11 = d11;
        Ref<float> x12 = d12;
        Ref<float> x13 = d13;
        Ref<float> x14 = d14;
        Ref<float> x15 = d15;
        Ref<float> x16 = d16;
        Ref<float> x17 = d17;
        Ref<float> x18 = d18;
        Ref<float> x19 = d19;
        Ref<float> x20 = d20;
        Ref<float> x21 = d21;
        Ref<float> x22 = d22;
        Ref<float> x23 = d23;
        Ref<float> x24 = d24;
        Ref<float> x25 = d25;
        Ref<float> x26 = d26;
        Ref<float> x27 = d27;
        Ref<float> x28 = d28;
        Ref<float> x29 = d29;
        Ref<float> x30 = d30;
        Ref<float> x31 = d31;
        Input<uint> i0 = a0, i1 = a1, i2 = a2, i3 = a3, one = 1u;
        Input<ulong> b = desc;
        CudaAsm.EmitRef(
            "{ .reg .pred p; setp.ne.b32 p, %37, 0; wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, {%32,%33,%34,%35}, %36, p, 1, 1, 1; }",
            ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7, ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15, ref x16, ref x17, ref x18, ref x19, ref x20, ref x21, ref x22, ref x23, ref x24, ref x25, ref x26, ref x27, ref x28, ref x29, ref x30, ref x31, ref i0, ref i1, ref i2, ref i3, ref b, ref one);
        d0 = x0.Value;
        d1 = x1.Value;
        d2 = x2.Value;
        d3 = x3.Value;
        d4 = x4.Value;
        d5 = x5.Value;
        d6 = x6.Value;
        d7 = x7.Value;
        d8 = x8.Value;
        d9 = x9.Value;
        d10 = x10.Value;
        d11 = x11.Value;
        d12 = x12.Value;
        d13 = x13.Value;
        d14 = x14.Value;
        d15 = x15.Value;
        d16 = x16.Value;
        d17 = x17.Value;
        d18 = x18.Value;
        d19 = x19.Value;
        d20 = x20.Value;
        d21 = x21.Value;
        d22 = x22.Value;
        d23 = x23.Value;
        d24 = x24.Value;
        d25 = x25.Value;
        d26 = x26.Value;
        d27 = x27.Value;
        d28 = x28.Value;
        d29 = x29.Value;
        d30 = x30.Value;
        d31 = x31.Value;
    }

    /// <summary>wgmma m64n64k16 (sm_90a), A (bf16) and B both K-major in shared memory through descriptors; D += A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaSsBf16(ref float d0, ref float d1, ref float d2, ref float d3, ref float d4, ref float d5, ref float d6, ref float d7, ref float d8, ref float d9, ref float d10, ref float d11, ref float d12, ref float d13, ref float d14, ref float d15, ref float d16, ref float d17, ref float d18, ref float d19, ref float d20, ref float d21, ref float d22, ref float d23, ref float d24, ref float d25, ref float d26, ref float d27, ref float d28, ref float d29, ref float d30, ref float d31, ulong descA, ulong descB)
    {
        Ref<float> x0 = d0;
        Ref<float> x1 = d1;
        Ref<float> x2 = d2;
        Ref<float> x3 = d3;
        Ref<float> x4 = d4;
        Ref<float> x5 = d5;
        Ref<float> x6 = d6;
        Ref<float> x7 = d7;
        Ref<float> x8 = d8;
        Ref<float> x9 = d9;
        Ref<float> x10 = d10;
        Ref<float> x11 = d11;
        Ref<float> x12 = d12;
        Ref<float> x13 = d13;
        Ref<float> x14 = d14;
        Ref<float> x15 = d15;
        Ref<float> x16 = d16;
        Ref<float> x17 = d17;
        Ref<float> x18 = d18;
        Ref<float> x19 = d19;
        Ref<float> x20 = d20;
        Ref<float> x21 = d21;
        Ref<float> x22 = d22;
        Ref<float> x23 = d23;
        Ref<float> x24 = d24;
        Ref<float> x25 = d25;
        Ref<float> x26 = d26;
        Ref<float> x27 = d27;
        Ref<float> x28 = d28;
        Ref<float> x29 = d29;
        Ref<float> x30 = d30;
        Ref<float> x31 = d31;
        Input<ulong> a = descA, b = descB;
        Input<uint> one = 1u;
        CudaAsm.EmitRef(
            "{ .reg .pred p; setp.ne.b32 p, %34, 0; wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, %32, %33, p, 1, 1, 0, 0; }",
            ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7, ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15, ref x16, ref x17, ref x18, ref x19, ref x20, ref x21, ref x22, ref x23, ref x24, ref x25, ref x26, ref x27, ref x28, ref x29, ref x30, ref x31, ref a, ref b, ref one);
        d0 = x0.Value;
        d1 = x1.Value;
        d2 = x2.Value;
        d3 = x3.Value;
        d4 = x4.Value;
        d5 = x5.Value;
        d6 = x6.Value;
        d7 = x7.Value;
        d8 = x8.Value;
        d9 = x9.Value;
        d10 = x10.Value;
        d11 = x11.Value;
        d12 = x12.Value;
        d13 = x13.Value;
        d14 = x14.Value;
        d15 = x15.Value;
        d16 = x16.Value;
        d17 = x17.Value;
        d18 = x18.Value;
        d19 = x19.Value;
        d20 = x20.Value;
        d21 = x21.Value;
        d22 = x22.Value;
        d23 = x23.Value;
        d24 = x24.Value;
        d25 = x25.Value;
        d26 = x26.Value;
        d27 = x27.Value;
        d28 = x28.Value;
        d29 = x29.Value;
        d30 = x30.Value;
        d31 = x31.Value;
    }

    /// <summary>wgmma m64n64k16 (sm_90a), A (f16) and B both K-major in shared memory through descriptors; D += A·B.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaSsF16(ref float d0, ref float d1, ref float d2, ref float d3, ref float d4, ref float d5, ref float d6, ref float d7, ref float d8, ref float d9, ref float d10, ref float d11, ref float d12, ref float d13, ref float d14, ref float d15, ref float d16, ref float d17, ref float d18, ref float d19, ref float d20, ref float d21, ref float d22, ref float d23, ref float d24, ref float d25, ref float d26, ref float d27, ref float d28, ref float d29, ref float d30, ref float d31, ulong descA, ulong descB)
    {
        Ref<float> x0 = d0;
        Ref<float> x1 = d1;
        Ref<float> x2 = d2;
        Ref<float> x3 = d3;
        Ref<float> x4 = d4;
        Ref<float> x5 = d5;
        Ref<float> x6 = d6;
        Ref<float> x7 = d7;
        Ref<float> x8 = d8;
        Ref<float> x9 = d9;
        Ref<float> x10 = d10;
        Ref<float> x11 = d11;
        Ref<float> x12 = d12;
        Ref<float> x13 = d13;
        Ref<float> x14 = d14;
        Ref<float> x15 = d15;
        Ref<float> x16 = d16;
        Ref<float> x17 = d17;
        Ref<float> x18 = d18;
        Ref<float> x19 = d19;
        Ref<float> x20 = d20;
        Ref<float> x21 = d21;
        Ref<float> x22 = d22;
        Ref<float> x23 = d23;
        Ref<float> x24 = d24;
        Ref<float> x25 = d25;
        Ref<float> x26 = d26;
        Ref<float> x27 = d27;
        Ref<float> x28 = d28;
        Ref<float> x29 = d29;
        Ref<float> x30 = d30;
        Ref<float> x31 = d31;
        Input<ulong> a = descA, b = descB;
        Input<uint> one = 1u;
        CudaAsm.EmitRef(
            "{ .reg .pred p; setp.ne.b32 p, %34, 0; wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31}, %32, %33, p, 1, 1, 0, 0; }",
            ref x0, ref x1, ref x2, ref x3, ref x4, ref x5, ref x6, ref x7, ref x8, ref x9, ref x10, ref x11, ref x12, ref x13, ref x14, ref x15, ref x16, ref x17, ref x18, ref x19, ref x20, ref x21, ref x22, ref x23, ref x24, ref x25, ref x26, ref x27, ref x28, ref x29, ref x30, ref x31, ref a, ref b, ref one);
        d0 = x0.Value;
        d1 = x1.Value;
        d2 = x2.Value;
        d3 = x3.Value;
        d4 = x4.Value;
        d5 = x5.Value;
        d6 = x6.Value;
        d7 = x7.Value;
        d8 = x8.Value;
        d9 = x9.Value;
        d10 = x10.Value;
        d11 = x11.Value;
        d12 = x12.Value;
        d13 = x13.Value;
        d14 = x14.Value;
        d15 = x15.Value;
        d16 = x16.Value;
        d17 = x17.Value;
        d18 = x18.Value;
        d19 = x19.Value;
        d20 = x20.Value;
        d21 = x21.Value;
        d22 = x22.Value;
        d23 = x23.Value;
        d24 = x24.Value;
        d25 = x25.Value;
        d26 = x26.Value;
        d27 = x27.Value;
        d28 = x28.Value;
        d29 = x29.Value;
        d30 = x30.Value;
        d31 = x31.Value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaFence() => CudaAsm.Emit("wgmma.fence.sync.aligned;");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaCommit() => CudaAsm.Emit("wgmma.commit_group.sync.aligned;");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void WgmmaWait0() => CudaAsm.Emit("wgmma.wait_group.sync.aligned 0;");

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
