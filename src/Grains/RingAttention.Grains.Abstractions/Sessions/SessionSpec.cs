using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Contracts.Sessions;

/// <summary>
/// A session to create: K/V of a context from a safetensors file (k and v <c>[T, Hkv, D]</c>, optionally q
/// <c>[T, Hq, D]</c>), kept sharded over <see cref="Shards"/> devices in pages of <see cref="PageTokens"/> tokens for
/// later appends and attends. With q in the file and an <see cref="OutputPath"/>, the prefill's o and lse are written
/// there as a job's output is. The mask and scale are the session's: every append and attend uses them.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionSpec")]
public sealed record SessionSpec
{
    /// <summary>Largest page the pool hands out (tokens).</summary>
    public const int MaxPageTokens = 65536;

    [Id(0)] public string InputPath { get; init; } = "";

    [Id(1)] public int Shards { get; init; } = 1;

    [Id(2)] public bool Causal { get; init; }

    [Id(3)] public int? Window { get; init; }

    [Id(4)] public float? Scale { get; init; }

    /// <summary>Tokens per page. <value>Default 256.</value></summary>
    [Id(5)] public int PageTokens { get; init; } = 256;

    /// <summary>Where the prefill's o and lse go when the file has q; null: q (if any) is not attended.</summary>
    [Id(6)] public string? OutputPath { get; init; }

    /// <summary>Replace an existing output file that RingAttention did not write.</summary>
    [Id(7)] public bool Overwrite { get; init; }

    /// <summary>Query heads: from the file's q, else required (the queries of later attends have this many).</summary>
    [Id(8)] public int Heads { get; init; }

    /// <summary>Filled in from the file by validation.</summary>
    [Id(9)] public int KvHeads { get; init; }

    [Id(10)] public int HeadDim { get; init; }

    /// <summary>The stored (and computed) element type: the file's, bf16 for FP8 files.</summary>
    [Id(11)] public ElementType DType { get; init; }

    public AttentionMask Mask => new(Causal, Window);

    /// <summary>The attention problem of a context of <paramref name="tokens"/> tokens.</summary>
    public AttentionSpec ToAttentionSpec(int tokens) => new(Math.Max(1, tokens), Heads, KvHeads, HeadDim, DType, Mask, Scale);
}
