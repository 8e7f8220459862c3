namespace RingAttention.Kernels.Gpu;

/// <summary>How many query vectors a warp of <see cref="DecodeMmaKernel"/> takes, as a type argument: 8 (rows 0-7 of A)
/// or, wide, 16 (all rows, twice the accumulators).</summary>
internal interface IDecodeWidth
{
    bool Wide { get; }
}

internal readonly struct DecodeNarrow : IDecodeWidth
{
    public bool Wide => false;
}

internal readonly struct DecodeWide : IDecodeWidth
{
    public bool Wide => true;
}

/// <summary>The width as its type argument.</summary>
internal static class DecodeWidths
{
    [return: System.Diagnostics.CodeAnalysis.DynamicallyAccessedMembers(System.Diagnostics.CodeAnalysis.DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)]
    public static Type Of(bool wide) => wide ? typeof(DecodeWide) : typeof(DecodeNarrow);
}
