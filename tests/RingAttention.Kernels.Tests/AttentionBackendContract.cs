using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Tests;

/// <summary>
/// Backend-agnostic kernel tests against the float64 reference, written once: a subclass per backend supplies
/// <see cref="CreateBackend"/>. Tolerances are <see cref="ReferenceAttention.Tolerance.For"/> of the dtype.
/// </summary>
public abstract class AttentionBackendContract
{
    protected static readonly AttentionMask[] AllMasks =
    [
        AttentionMask.None,
        AttentionMask.CausalMask,
        new(false, 1),
        new(false, 37),
        new(true, 1),
        new(true, 100),
    ];

    public static TheoryData<int, ElementType> MasksAndTypes()
    {
        var data = new TheoryData<int, ElementType>();
        for (int m = 0; m < AllMasks.Length; m++)
        {
            // The types attention computes on (FP8 K/V are dequantised to bf16 before a kernel sees them: Fp8DequantiseTests).
            foreach (var type in Enum.GetValues<ElementType>().Where(t => t.ComputeType() == t))
            {
                data.Add(m, type);
            }
        }

        return data;
    }

    protected abstract IAttentionBackend CreateBackend();

    protected PartialResult Run(AttentionCase c, KeyValueBlock? keys = null, PartialResult? accumulator = null)
    {
        using var backend = CreateBackend();
        var result = accumulator ?? c.NewAccumulator();
        backend.Accumulate(c.Spec, c.Queries, keys ?? c.KeyValues, result);
        return result;
    }

    protected void AssertAgainstReference(AttentionCase c, int maxRows = 48)
    {
        var result = Run(c);
        ReferenceCheck.AssertMatches(c, result, c.KeyValues, ReferenceCheck.SampleRows(c.Queries.Rows, maxRows), ReferenceAttention.Tolerance.For(c.Spec.DType));
    }

    [Theory]
    [MemberData(nameof(MasksAndTypes))]
    public void Accumulate_EveryMaskAndDtype_MatchesReference(int maskIndex, ElementType type) =>
        AssertAgainstReference(AttentionCase.SelfAttention(300, 4, 2, 64, type, AllMasks[maskIndex], seed: 11 + maskIndex));

    [Theory]
    [InlineData(4, 4)]
    [InlineData(4, 2)]
    [InlineData(8, 2)]
    [InlineData(8, 1)]
    [InlineData(16, 2)]
    [InlineData(3, 1)]
    public void Accumulate_GqaAndMqaRatios_MatchesReference(int heads, int kvHeads) =>
        AssertAgainstReference(AttentionCase.SelfAttention(150, heads, kvHeads, 40, ElementType.F32, AttentionMask.CausalMask, seed: 100 + heads + kvHeads));

    [Theory]
    [InlineData(1, 128, ElementType.F32, false)]
    [InlineData(7, 128, ElementType.BF16, true)]
    [InlineData(1000, 128, ElementType.F16, true)]
    [InlineData(1000, 111, ElementType.F32, false)]
    [InlineData(4099, 128, ElementType.F32, false)]
    [InlineData(4099, 64, ElementType.BF16, true)]
    public void Accumulate_TokenCounts_MatchesReference(int tokens, int headDim, ElementType type, bool causal) =>
        AssertAgainstReference(AttentionCase.SelfAttention(tokens, 2, 1, headDim, type, new AttentionMask(causal, null), seed: tokens + headDim), maxRows: 24);

    [Theory]
    [InlineData(1, ElementType.F32)]
    [InlineData(1, ElementType.BF16)]
    [InlineData(40, ElementType.F16)]
    [InlineData(64, ElementType.F32)]
    [InlineData(111, ElementType.BF16)]
    [InlineData(111, ElementType.F16)]
    [InlineData(128, ElementType.F16)]
    [InlineData(256, ElementType.F32)]
    [InlineData(256, ElementType.BF16)]
    public void Accumulate_HeadDims_MatchesReference(int headDim, ElementType type) =>
        AssertAgainstReference(AttentionCase.SelfAttention(130, 2, 2, headDim, type, new AttentionMask(true, 90), seed: headDim));

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(true, 700)]
    [InlineData(false, 50)]
    public void Accumulate_OffsetMultiSpanBlocks_MatchesReference(bool causal, int? window)
    {
        // Zigzag-like: two query chunks far apart, keys in three chunks before, between and after them.
        var spec = new AttentionSpec(5000, 4, 2, 64, ElementType.F32, new AttentionMask(causal, window)).Validate();
        var c = new AttentionCase(spec, [new(1000, 70), new(3000, 90)], [new(0, 64), new(1020, 130), new(2990, 200), new(4500, 33)], Seed: 5);
        AssertAgainstReference(c, maxRows: 160);
    }

    [Fact]
    public void Accumulate_ZigzagShardsInRingOrder_EqualsWholeSequence()
    {
        // R = 4 shards, 2R chunks of 40: shard i holds chunks i and 2R-1-i. Each shard accumulates every shard's
        // kv block in ring order starting with its own; the union must equal single-device attention.
        const int shards = 4, chunk = 40;
        var spec = new AttentionSpec(2 * shards * chunk, 4, 1, 48, ElementType.BF16, AttentionMask.CausalMask).Validate();
        TokenSpan[] Shard(int i) => [new(i * chunk, chunk), new((2 * shards - 1 - i) * chunk, chunk)];
        var whole = new AttentionCase(spec, [new(0, spec.Tokens)], [new(0, spec.Tokens)], Seed: 21);
        for (int i = 0; i < shards; i++)
        {
            var shard = whole with { QuerySpans = Shard(i), KeySpans = Shard(i) };
            var result = shard.NewAccumulator();
            for (int step = 0; step < shards; step++)
            {
                Run(shard, whole.Slice(Shard((i - step + shards) % shards)), result);
            }

            ReferenceCheck.AssertMatches(shard, result, whole.KeyValues, Enumerable.Range(0, shard.Queries.Rows), ReferenceAttention.Tolerance.For(spec.DType));
        }
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(true, 10)]
    [InlineData(false, 10)]
    public void Accumulate_BlockEntirelyMasked_LeavesLseMinusInfAndOutputZero(bool causal, int? window)
    {
        // Queries at [0, 64), keys at [200, 300): causal hides every key; a window of 10 too (both sides).
        var spec = new AttentionSpec(300, 2, 2, 32, ElementType.F16, new AttentionMask(causal, window)).Validate();
        var c = new AttentionCase(spec, [new(0, 64)], [new(200, 100)], Seed: 3);
        var result = Run(c);
        Assert.All(result.Lse, l => Assert.Equal(float.NegativeInfinity, l));
        Assert.All(result.Output, o => Assert.Equal(0f, o));
    }

    [Fact]
    public void Accumulate_LargeLogits_StaysFiniteAndMatchesReference()
    {
        // q, k ~ N(0, 8²): logits reach several hundred, e^logit overflows f32 without the max subtraction.
        var spec = new AttentionSpec(200, 2, 1, 64, ElementType.F32, AttentionMask.None, Scale: 0.5f).Validate();
        var c = new AttentionCase(spec, [new(0, 200)], [new(0, 200)], Seed: 9, Amplitude: 8f);
        var result = Run(c);
        // Logit errors grow with |logit| (f32 rounding of a ~500-magnitude dot product ≈ 3e-5 absolute).
        ReferenceCheck.AssertMatches(c, result, c.KeyValues, ReferenceCheck.SampleRows(200), new ReferenceAttention.Tolerance(1e-3, 1e-5));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Accumulate_KeysSplitIntoBlocksInAnyOrder_EqualsSingleBlock(int blocks)
    {
        var c = AttentionCase.SelfAttention(257, 2, 1, 40, ElementType.F32, new AttentionMask(true, 120), seed: 40 + blocks);
        var whole = Run(c);
        var spans = SplitSpans(257, blocks);
        foreach (var order in Permutations(blocks))
        {
            var sequential = c.NewAccumulator();
            var merged = c.NewAccumulator();
            foreach (int b in order)
            {
                var block = c.Slice([spans[b]]);
                Run(c, block, sequential);
                SoftmaxMerge.MergeInto(merged, Run(c, block));
            }

            ReferenceCheck.AssertClose(whole, sequential, 2e-6, c.ValueMagnitude);
            ReferenceCheck.AssertClose(whole, merged, 2e-6, c.ValueMagnitude);
        }
    }

    [Fact]
    public void Accumulate_CancelledToken_ThrowsOperationCanceled()
    {
        var c = AttentionCase.SelfAttention(64, 1, 1, 16, ElementType.F32, AttentionMask.None, seed: 1);
        using var backend = CreateBackend();
        Assert.ThrowsAny<OperationCanceledException>(() => backend.Accumulate(c.Spec, c.Queries, c.KeyValues, c.NewAccumulator(), new CancellationToken(true)));
    }

    [Fact]
    public void Accumulate_MismatchedAccumulator_ThrowsNamingArgument()
    {
        var c = AttentionCase.SelfAttention(10, 2, 1, 16, ElementType.F32, AttentionMask.None, seed: 1);
        using var backend = CreateBackend();
        var error = Assert.ThrowsAny<ArgumentException>(() => backend.Accumulate(c.Spec, c.Queries, c.KeyValues, new PartialResult(9, 2, 16)));
        Assert.Equal("accumulator", error.ParamName);
    }

    internal static TokenSpan[] SplitSpans(int tokens, int blocks)
    {
        // Uneven cut points (not multiples of any tile size).
        var cuts = Enumerable.Range(0, blocks + 1).Select(i => (int)((long)tokens * i * i / (blocks * blocks))).ToArray();
        return Enumerable.Range(0, blocks).Select(i => new TokenSpan(cuts[i], cuts[i + 1] - cuts[i])).ToArray();
    }

    internal static IEnumerable<int[]> Permutations(int n)
    {
        var items = Enumerable.Range(0, n).ToArray();
        return Permute(items, 0);

        static IEnumerable<int[]> Permute(int[] a, int k)
        {
            if (k == a.Length)
            {
                yield return (int[])a.Clone();
                yield break;
            }

            for (int i = k; i < a.Length; i++)
            {
                (a[k], a[i]) = (a[i], a[k]);
                foreach (var p in Permute(a, k + 1))
                {
                    yield return p;
                }

                (a[k], a[i]) = (a[i], a[k]);
            }
        }
    }
}
