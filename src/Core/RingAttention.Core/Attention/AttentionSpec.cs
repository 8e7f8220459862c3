using RingAttention.Tensors;

namespace RingAttention.Attention;

/// <summary>
/// Shape and semantics of one attention problem over a whole sequence:
/// q: [tokens, heads, headDim], k and v: [tokens, kvHeads, headDim], o: [tokens, heads, headDim], lse: [heads, tokens].
/// Query head h reads kv head h / (heads / kvHeads) (GQA; kvHeads = 1 is MQA).
/// </summary>
public sealed record AttentionSpec(
    int Tokens,
    int Heads,
    int KvHeads,
    int HeadDim,
    ElementType DType,
    AttentionMask Mask,
    float? Scale = null)
{
    /// <summary>Largest head dimension any backend accepts.</summary>
    public const int MaxHeadDim = 256;

    /// <summary>Softmax scale actually used: the given one, or 1/sqrt(headDim).</summary>
    public float EffectiveScale => Scale ?? 1f / MathF.Sqrt(HeadDim);

    /// <summary>Query heads per kv head.</summary>
    public int GroupSize => Heads / KvHeads;

    /// <summary>
    /// K/V blocks held as FP8 codes with these factors (<see cref="Fp8KeyValueScales"/>), dequantised to
    /// <see cref="DType"/> (bfloat16) for each kernel; null: blocks in <see cref="DType"/>.
    /// </summary>
    public Fp8KeyValueScales? KeyValueScales { get; init; }

    /// <summary>The element type of this problem's K/V blocks: FP8 with <see cref="KeyValueScales"/>, else <see cref="DType"/>.</summary>
    public ElementType KeyValueType => KeyValueScales is null ? DType : ElementType.F8E4M3;

    /// <summary>Throws <see cref="SpecValidationException"/> naming the first field that breaks a rule.</summary>
    public AttentionSpec Validate()
    {
        if (Tokens < 1)
        {
            throw new SpecValidationException("tokens", $"tokens ({Tokens}) must be at least 1");
        }

        if (Heads < 1)
        {
            throw new SpecValidationException("heads", $"heads ({Heads}) must be at least 1");
        }

        if (KvHeads < 1)
        {
            throw new SpecValidationException("kvHeads", $"kvHeads ({KvHeads}) must be at least 1");
        }

        if (Heads % KvHeads != 0)
        {
            throw new SpecValidationException("kvHeads", $"kvHeads ({KvHeads}) must divide heads ({Heads})");
        }

        if (HeadDim < 1 || HeadDim > MaxHeadDim)
        {
            throw new SpecValidationException("headDim", $"headDim ({HeadDim}) must be between 1 and {MaxHeadDim}");
        }

        if (!Enum.IsDefined(DType) || DType.ComputeType() != DType)
        {
            throw new SpecValidationException("dtype", $"dtype ({DType}) is not one attention computes on; use f32, f16 or bf16 (FP8 inputs are dequantised to bf16 first)");
        }

        if (Mask.Window is int w && w < 1)
        {
            throw new SpecValidationException("window", $"window ({w}) must be at least 1");
        }

        if (Scale is float s && (!float.IsFinite(s) || s <= 0))
        {
            throw new SpecValidationException("scale", $"scale ({s}) must be a finite positive number");
        }

        if (KeyValueScales is not null)
        {
            if (DType != ElementType.BF16)
            {
                throw new SpecValidationException("dtype", $"FP8 K/V blocks dequantise to bf16; dtype is {DType}");
            }

            if (KeyValueScales.Problem(KvHeads) is { } problem)
            {
                throw new SpecValidationException(problem.Field, problem.Reason);
            }
        }

        return this;
    }
}
