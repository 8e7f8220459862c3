using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Contracts;

/// <summary>
/// What a user submits: the attention problem, how to shard it, where its tensors are.
/// Inputs: a safetensors file holding q [tokens, heads, headDim], k and v [tokens, kvHeads, headDim]
/// (the shape fields are then taken from the file), or a synthetic seed with explicit shape fields.
/// Output: a safetensors file with o [tokens, heads, headDim] in the input dtype and lse [heads, tokens] F32.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.JobSpec")]
public sealed record JobSpec
{
    [Id(0)] public int Tokens { get; init; }

    [Id(1)] public int Heads { get; init; }

    [Id(2)] public int KvHeads { get; init; }

    [Id(3)] public int HeadDim { get; init; }

    [Id(4)] public ElementType DType { get; init; } = ElementType.F32;

    [Id(5)] public bool Causal { get; init; }

    /// <summary>Sliding window width, or null for none.</summary>
    [Id(6)] public int? Window { get; init; }

    /// <summary>Softmax scale; null means 1/sqrt(headDim).</summary>
    [Id(7)] public float? Scale { get; init; }

    /// <summary>Number of shard grains R in the ring.</summary>
    [Id(8)] public int Shards { get; init; } = 1;

    [Id(9)] public ShardLayout Layout { get; init; } = ShardLayout.Zigzag;

    /// <summary>Path of the input safetensors file, readable by every silo. Null when <see cref="SyntheticSeed"/> is set.</summary>
    [Id(10)] public string? InputPath { get; init; }

    /// <summary>Seed of deterministic random inputs (each shard generates only its own rows). Null when reading a file.</summary>
    [Id(11)] public long? SyntheticSeed { get; init; }

    /// <summary>Path of the output safetensors file; it appears only when the job completes.</summary>
    [Id(12)] public string OutputPath { get; init; } = "";

    /// <summary>Replace an existing output file that RingAttention did not write (CLI --force). A RingAttention output
    /// is replaced without it; the input file never is.</summary>
    [Id(13)] public bool Overwrite { get; init; }

    /// <summary>Seconds the job keeps running without a status call from a client: the CLI sets it, so a job whose CLI
    /// was killed is cancelled rather than left running for nobody (--detach leaves it null). <value>Default null: no lease.</value></summary>
    [Id(14)] public int? ClientLeaseSeconds { get; init; }

    /// <summary>
    /// Path of a safetensors file holding the queries, q <c>[n, Hq, D]</c>, when they are not the input file's own: then
    /// the input file gives k and v <c>[Tk, Hkv, D]</c> (<see cref="Tokens"/> = Tk; a q there is ignored) and the
    /// queries sit at global positions <c>[QueryOffset, QueryOffset + n)</c>. Null: q, k and v share positions 0..T-1.
    /// </summary>
    [Id(15)] public string? QueriesPath { get; init; }

    /// <summary>Global position of the first query row of <see cref="QueriesPath"/>; null means Tk - n (the queries are
    /// the last n positions: bottom-right alignment, as flash-attn's causal mask for unequal lengths).</summary>
    [Id(16)] public int? QueryOffset { get; init; }

    /// <summary>Query rows n of <see cref="QueriesPath"/> (from its header; 0 before validation).</summary>
    [Id(17)] public int QueryTokens { get; init; }

    /// <summary>Softmax (default) or linear attention; the next fields apply to linear attention only.</summary>
    [Id(18)] public AttentionKind Attention { get; init; } = AttentionKind.Softmax;

    /// <summary>Linear attention's feature map φ.</summary>
    [Id(19)] public LinearFeatureMap FeatureMap { get; init; } = LinearFeatureMap.Elu1;

    /// <summary>Linear attention's decay γ: null for none, one value for every head, or one per query head (from the
    /// input file's <c>decay</c> tensor when <see cref="DecayFromInput"/>).</summary>
    [Id(20)] public float[]? Decay { get; init; }

    /// <summary>Read γ per query head from the input file's <c>decay [heads]</c> F32 tensor.</summary>
    [Id(21)] public bool DecayFromInput { get; init; }

    /// <summary>Linear attention: divide by φ(q)ᵀz (Linear Transformer) or not (RetNet).</summary>
    [Id(22)] public bool Normalize { get; init; } = true;

    /// <summary>Linear attention: how shards exchange their states (<see cref="Contracts.LinearExchange"/>).</summary>
    [Id(23)] public LinearExchange Exchange { get; init; } = LinearExchange.Gather;

    public AttentionMask Mask => new(Causal, Window);

    /// <summary>The linear-attention problem this job computes (shape fields as given; validate separately).</summary>
    public LinearAttentionSpec ToLinearSpec() => new(Tokens, Heads, KvHeads, HeadDim, ComputeType, Causal, FeatureMap, Decay, Normalize);

    /// <summary>Rows of the output: the query rows (<see cref="Tokens"/> when the queries are the input file's).</summary>
    public int Queries => QueriesPath is null ? Tokens : QueryTokens;

    /// <summary>Global position of the first query row.</summary>
    public int FirstQueryPosition => QueriesPath is null ? 0 : QueryOffset ?? (Tokens - QueryTokens);

    /// <summary>The type the ring computes on and the output is written in: <see cref="DType"/> (the inputs'), except
    /// FP8 inputs, computed in bfloat16 (q dequantised on load, K/V as <see cref="KeyValueType"/> says).</summary>
    public ElementType ComputeType => DType.ComputeType();

    /// <summary>
    /// The element type of the ring's K/V blocks: a softmax job's FP8 inputs stay FP8 codes (half the bytes of bfloat16
    /// on the devices and between them) and are dequantised for each step (<see cref="AttentionSpec.KeyValueScales"/>);
    /// otherwise <see cref="ComputeType"/>.
    /// </summary>
    public ElementType KeyValueType => DType == ElementType.F8E4M3 && Attention == AttentionKind.Softmax && InputPath is not null ? ElementType.F8E4M3 : ComputeType;

    /// <summary>The attention problem this job computes (shape fields as given; validate separately).</summary>
    public AttentionSpec ToAttentionSpec() => new(Tokens, Heads, KvHeads, HeadDim, ComputeType, Mask, Scale);
}
