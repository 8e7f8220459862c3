using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Four consecutive elements of a row as floats, read with one 8-byte load (16-bit types) or two (f32), for
/// <see cref="DecodeKernel"/>. A struct type argument, so each element type gets its own kernel with no per-element
/// branch on the type. Views are the rows' bytes as 8-byte words; <c>index</c> counts elements and is a multiple of 4.
/// </summary>
internal interface IDecodeQuad
{
    (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index);
}

internal readonly struct Bf16Quad : IDecodeQuad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index)
    {
        ulong w = data[index / 4];
        return (Interop.IntAsFloat((uint)w << 16), Interop.IntAsFloat((uint)w & 0xFFFF0000u),
            Interop.IntAsFloat((uint)(w >> 32) << 16), Interop.IntAsFloat((uint)(w >> 32) & 0xFFFF0000u));
    }
}

internal readonly struct F16Quad : IDecodeQuad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index)
    {
        ulong w = data[index / 4];
        return (PortableKernel.HalfBitsToSingle((uint)w & 0xFFFFu), PortableKernel.HalfBitsToSingle((uint)(w >> 16) & 0xFFFFu),
            PortableKernel.HalfBitsToSingle((uint)(w >> 32) & 0xFFFFu), PortableKernel.HalfBitsToSingle((uint)(w >> 48)));
    }
}

internal readonly struct F32Quad : IDecodeQuad
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index)
    {
        ulong lo = data[index / 2];
        ulong hi = data[(index / 2) + 1];
        return (Interop.IntAsFloat((uint)lo), Interop.IntAsFloat((uint)(lo >> 32)), Interop.IntAsFloat((uint)hi), Interop.IntAsFloat((uint)(hi >> 32)));
    }
}
