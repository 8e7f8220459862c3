using System.Diagnostics.CodeAnalysis;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The head dim of a <see cref="DecodeMmaKernel"/> launch as a type argument, so that each served dim compiles to its
/// own kernel in which the per-k-tile and per-n-tile guards are constants (<see cref="Of"/> maps a dim to its type).
/// </summary>
internal interface IDecodeHeadDim
{
    int Value { get; }
}

/// <summary>The head dims <see cref="DecodeMmaKernel"/> serves (multiples of 16 up to 128) as types.</summary>
internal static class DecodeHeadDims
{
    [return: DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)]
    public static Type Of(int headDim) => headDim switch
    {
        16 => typeof(DecodeDim16),
        32 => typeof(DecodeDim32),
        48 => typeof(DecodeDim48),
        64 => typeof(DecodeDim64),
        80 => typeof(DecodeDim80),
        96 => typeof(DecodeDim96),
        112 => typeof(DecodeDim112),
        128 => typeof(DecodeDim128),
        _ => throw new ArgumentOutOfRangeException(nameof(headDim), headDim, "the tensor-core decode kernel takes head dims 16 to 128 in steps of 16"),
    };
}

internal readonly struct DecodeDim16 : IDecodeHeadDim
{
    public int Value => 16;
}

internal readonly struct DecodeDim32 : IDecodeHeadDim
{
    public int Value => 32;
}

internal readonly struct DecodeDim48 : IDecodeHeadDim
{
    public int Value => 48;
}

internal readonly struct DecodeDim64 : IDecodeHeadDim
{
    public int Value => 64;
}

internal readonly struct DecodeDim80 : IDecodeHeadDim
{
    public int Value => 80;
}

internal readonly struct DecodeDim96 : IDecodeHeadDim
{
    public int Value => 96;
}

internal readonly struct DecodeDim112 : IDecodeHeadDim
{
    public int Value => 112;
}

internal readonly struct DecodeDim128 : IDecodeHeadDim
{
    public int Value => 128;
}
