using System.Runtime.CompilerServices;
using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Four consecutive elements of a row as floats, read with one 8-byte load (16-bit types) or two (f32), for
/// <see cref="DecodeKernel"/>. A struct type argument, so each element type gets its own kernel with no per-element
/// branch on the type. K/V are read at device addresses (a launch spans many pages, each its own allocation: see
/// <see cref="IWordRead"/>); q from its view of 8-byte words, where <c>index</c> counts elements (a multiple of 4).
/// </summary>
internal interface IDecodeQuad
{
    /// <summary>Bytes of one element.</summary>
    int ElementBytes { get; }

    (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index);

    (float A, float B, float C, float D) Read<TRead>(long address)
        where TRead : struct, IWordRead;
}

internal readonly struct Bf16Quad : IDecodeQuad
{
    public int ElementBytes => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index) => Unpack(data[index / 4]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Read<TRead>(long address)
        where TRead : struct, IWordRead => Unpack(default(TRead).Read(address));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float A, float B, float C, float D) Unpack(ulong w) =>
        (Interop.IntAsFloat((uint)w << 16), Interop.IntAsFloat((uint)w & 0xFFFF0000u),
            Interop.IntAsFloat((uint)(w >> 32) << 16), Interop.IntAsFloat((uint)(w >> 32) & 0xFFFF0000u));
}

internal readonly struct F16Quad : IDecodeQuad
{
    public int ElementBytes => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index) => Unpack(data[index / 4]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Read<TRead>(long address)
        where TRead : struct, IWordRead => Unpack(default(TRead).Read(address));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float A, float B, float C, float D) Unpack(ulong w) =>
        (PortableKernel.HalfBitsToSingle((uint)w & 0xFFFFu), PortableKernel.HalfBitsToSingle((uint)(w >> 16) & 0xFFFFu),
            PortableKernel.HalfBitsToSingle((uint)(w >> 32) & 0xFFFFu), PortableKernel.HalfBitsToSingle((uint)(w >> 48)));
}

internal readonly struct F32Quad : IDecodeQuad
{
    public int ElementBytes => 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Load(ArrayView<ulong> data, long index) => Unpack(data[index / 2], data[(index / 2) + 1]);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (float A, float B, float C, float D) Read<TRead>(long address)
        where TRead : struct, IWordRead => Unpack(default(TRead).Read(address), default(TRead).Read(address + 8));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float A, float B, float C, float D) Unpack(ulong lo, ulong hi) =>
        (Interop.IntAsFloat((uint)lo), Interop.IntAsFloat((uint)(lo >> 32)), Interop.IntAsFloat((uint)hi), Interop.IntAsFloat((uint)(hi >> 32)));
}
