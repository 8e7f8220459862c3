using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// Backend-agnostic checks against the float64 oracle; subclasses pick the accelerator (CPU in CI, CUDA on the GPU machine).
/// Tolerance: float32 accumulation and, for the tensor-core kernel, P rounded to the input type (FA2 does the same).
/// </summary>
public abstract class AttentionBackendTests : IDisposable
{
    private IAttentionBackend? _backend;
    private string _reason = string.Empty;

    public void Dispose()
    {
        _backend?.Dispose();
        GC.SuppressFinalize(this);
    }

    public static TheoryData<string, int, int, int, string> Cases() => new()
    {
        { "none", 4, 4, 64, "bf16" },
        { "causal", 4, 1, 40, "f16" },
        { "causal", 4, 2, 64, "bf16" },
        { "window", 2, 2, 16, "f32" },
        { "causal+window", 8, 2, 64, "f16" },
        { "none", 2, 1, 111, "f32" },
    };

    /// <summary>Creates the backend under test, or null with the reason (test skipped).</summary>
    protected abstract IAttentionBackend? Create(out string reason);

    /// <summary>Absolute error allowed on O, per storage type.</summary>
    protected virtual double Tolerance(ElementType type) => type == ElementType.F32 ? 2e-5 : 2e-5;

    protected IAttentionBackend Backend()
    {
        _backend ??= Create(out _reason);
        Skip.If(_backend is null, _reason);
        return _backend!;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Accumulate_SingleBlockOddSizes_MatchesFloat64(string mask, int heads, int kvHeads, int dim, string dtype)
    {
        var backend = Backend();
        var spec = Spec(mask, heads, kvHeads, dim, dtype);
        var rng = new Random(HashCode.Combine(mask, heads, kvHeads, dim, dtype));
        var q = Reference.Random(rng, spec.DType, heads, dim, new TokenSpan(3, 77));
        var kv = new KeyValueBlock(Reference.Random(rng, spec.DType, kvHeads, dim, new TokenSpan(0, 83)), Reference.Random(rng, spec.DType, kvHeads, dim, new TokenSpan(0, 83)));
        var acc = new PartialResult(q.Rows, heads, dim);
        backend.Accumulate(spec, q, kv, acc);
        AssertClose(spec, q, [kv], acc);
    }

    [SkippableFact]
    public void Accumulate_ZigzagRingSteps_EqualsWholeSequence()
    {
        var backend = Backend();
        var spec = Spec("causal", 4, 2, 64, "bf16");
        var rng = new Random(7);
        // 4 shards of a 256-token sequence, zigzag: shard r holds chunks r and 7 - r of 32 tokens.
        TokenSpan[] Shard(int r) => [new TokenSpan(32 * r, 32), new TokenSpan(32 * (7 - r), 32)];
        var q = Reference.Random(rng, spec.DType, 4, 64, Shard(1));
        var blocks = Enumerable.Range(0, 4).Select(r => new KeyValueBlock(
            Reference.Random(rng, spec.DType, 2, 64, Shard(r)), Reference.Random(rng, spec.DType, 2, 64, Shard(r)))).ToArray();
        var acc = new PartialResult(q.Rows, 4, 64);
        foreach (var b in blocks.Reverse())
        {
            backend.Accumulate(spec, q, b, acc);
        }

        AssertClose(spec, q, blocks, acc);
    }

    public static TheoryData<string, int, int, int, int, string> DecodeCases() => new()
    {
        { "causal", 1, 8, 2, 64, "bf16" },
        { "none", 2, 8, 2, 64, "bf16" },
        { "causal", 2, 6, 2, 64, "f16" },
        { "window", 2, 4, 4, 40, "f32" },
        { "causal+window", 1, 8, 1, 48, "bf16" },
    };

    /// <summary>
    /// Few query rows against many keys take the split-K path (<see cref="DecodeKernel"/>): two blocks in turn (the
    /// second merged into the first's result), odd key counts that leave a short last chunk, rows whose window sees no
    /// key of a block. Queries sit at the end of the keys, as decode steps do.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(DecodeCases))]
    public void Accumulate_FewQueryRowsManyKeys_SplitK_MatchesFloat64(string mask, int rows, int heads, int kvHeads, int dim, string dtype)
    {
        var backend = Backend();
        var spec = Spec(mask, heads, kvHeads, dim, dtype);
        Assert.True(DecodeKernel.Serves(rows, spec.GroupSize, 70, dim, WarpSize(backend)));
        var rng = new Random(HashCode.Combine(mask, rows, heads, dim));
        var q = Reference.Random(rng, spec.DType, heads, dim, new TokenSpan(201 - rows, rows));
        KeyValueBlock Block(TokenSpan span) => new(Reference.Random(rng, spec.DType, kvHeads, dim, span), Reference.Random(rng, spec.DType, kvHeads, dim, span));
        var blocks = new[] { Block(new TokenSpan(0, 131)), Block(new TokenSpan(131, 70)) };
        var acc = new PartialResult(q.Rows, heads, dim);
        foreach (var block in blocks)
        {
            backend.Accumulate(spec, q, block, acc);
        }

        AssertClose(spec, q, blocks, acc);
    }

    /// <summary>
    /// A session shard's pages in one split-K launch (<see cref="IAttentionBackend.AccumulateEach"/>): five allocations,
    /// one holding two position spans out of order, one empty, one past the queries (masked), rows that straddle the
    /// chunk size; the result equals float64 over all of them.
    /// </summary>
    [SkippableTheory]
    [InlineData("causal", 1, "bf16")]
    [InlineData("causal+window", 2, "f16")]
    [InlineData("none", 1, "f32")]
    public void AccumulateEach_PagesInOneDecodeLaunch_MatchesFloat64(string mask, int rows, string dtype)
    {
        var backend = Backend();
        if (backend is IlgpuAttentionBackend ilgpu)
        {
            // Chunks that start inside a page, as a million-key shard's do (its chunks floor at 2048 keys).
            ilgpu.DecodeMinChunkKeys = DecodeKernel.MinKeys;
        }

        var spec = Spec(mask, 8, 2, 64, dtype);
        Assert.True(DecodeKernel.Serves(rows, spec.GroupSize, 100, 64, WarpSize(backend)));
        var rng = new Random(HashCode.Combine(mask, rows, dtype));
        var q = Reference.Random(rng, spec.DType, 8, 64, new TokenSpan(600 - rows, rows));
        KeyValueBlock Block(params TokenSpan[] spans) => new(Reference.Random(rng, spec.DType, 2, 64, spans), Reference.Random(rng, spec.DType, 2, 64, spans));
        var blocks = new[]
        {
            Block(new TokenSpan(0, 97)),
            Block(new TokenSpan(300, 45), new TokenSpan(97, 150)),
            Block(new TokenSpan(247, 53)),
            Block(new TokenSpan(345, 255 - rows)),
            Block(new TokenSpan(700, 40)),
        };
        AssertClose(spec, q, blocks, AccumulateEach(backend, spec, q, blocks));
    }

    /// <summary>
    /// More chunks than one merge launch folds: one-row pages past the merge's piece size go in several batches, each
    /// merged into the result of those before. The ILGPU backends' piece (<see cref="DecodeMerge.MaxChunks"/>, 4096: a
    /// session of a million tokens in 256-token pages on one shard) is lowered to 16 so that 37 pages cross it twice.
    /// </summary>
    [SkippableFact]
    public void AccumulateEach_MoreChunksThanOneMerge_MatchesFloat64()
    {
        var backend = Backend();
        const int piece = 16;
        if (backend is IlgpuAttentionBackend ilgpu)
        {
            ilgpu.MergePieceChunks = piece;
        }

        var spec = Spec("causal", 2, 1, 16, "bf16");
        var rng = new Random(11);
        const int pages = (2 * piece) + 5;
        var q = Reference.Random(rng, spec.DType, 2, 16, new TokenSpan(pages, 1));
        var blocks = Enumerable.Range(0, pages).Select(i => new KeyValueBlock(
            Reference.Random(rng, spec.DType, 1, 16, new TokenSpan(i, 1)), Reference.Random(rng, spec.DType, 1, 16, new TokenSpan(i, 1)))).ToArray();
        AssertClose(spec, q, blocks, AccumulateEach(backend, spec, q, blocks));
    }

    [SkippableFact]
    public void Accumulate_KeysAllInTheFuture_LeavesEmptyRows()
    {
        var backend = Backend();
        var spec = Spec("causal", 2, 2, 64, "f16");
        var rng = new Random(3);
        var q = Reference.Random(rng, spec.DType, 2, 64, new TokenSpan(0, 40));
        var kv = new KeyValueBlock(Reference.Random(rng, spec.DType, 2, 64, new TokenSpan(20, 50)), Reference.Random(rng, spec.DType, 2, 64, new TokenSpan(20, 50)));
        var acc = new PartialResult(q.Rows, 2, 64);
        backend.Accumulate(spec, q, kv, acc);
        AssertClose(spec, q, [kv], acc);
        Assert.Equal(float.NegativeInfinity, acc.Lse[0]);
        Assert.Equal(float.NegativeInfinity, acc.Lse[19]);
        Assert.True(float.IsFinite(acc.Lse[20]));
        Assert.All(acc.Output.AsSpan(0, 20 * 2 * 64).ToArray(), x => Assert.Equal(0f, x));
    }

    [SkippableFact]
    public void Accumulate_WrongHeadCount_ThrowsNamingTheShapes()
    {
        var backend = Backend();
        var spec = Spec("none", 4, 2, 64, "bf16");
        var rng = new Random(1);
        var q = Reference.Random(rng, spec.DType, 2, 64, new TokenSpan(0, 8));
        var kv = new KeyValueBlock(Reference.Random(rng, spec.DType, 2, 64, new TokenSpan(0, 8)), Reference.Random(rng, spec.DType, 2, 64, new TokenSpan(0, 8)));
        var ex = Assert.Throws<ArgumentException>(() => backend.Accumulate(spec, q, kv, new PartialResult(8, 4, 64)));
        Assert.Contains("2 heads", ex.Message);
    }

    private static AttentionSpec Spec(string mask, int heads, int kvHeads, int dim, string dtype)
    {
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        var m = mask switch
        {
            "none" => AttentionMask.None,
            "causal" => AttentionMask.CausalMask,
            "window" => new AttentionMask(false, 19),
            "causal+window" => new AttentionMask(true, 30),
            _ => throw new ArgumentOutOfRangeException(nameof(mask)),
        };
        return new AttentionSpec(1024, heads, kvHeads, dim, type, m).Validate();
    }

    private void AssertClose(AttentionSpec spec, TensorRows q, IReadOnlyList<KeyValueBlock> blocks, PartialResult acc)
    {
        var (o, lse) = Reference.Attention(spec, q, blocks);
        double tol = Tolerance(spec.DType);
        double maxErr = 0;
        for (int i = 0; i < o.Length; i++)
        {
            Assert.False(float.IsNaN(acc.Output[i]), $"NaN at output {i}");
            maxErr = Math.Max(maxErr, Math.Abs(acc.Output[i] - o[i]));
        }

        Assert.True(maxErr <= tol, $"max |O - O64| = {maxErr:E3} > {tol:E1}");
        for (int i = 0; i < lse.Length; i++)
        {
            if (double.IsNegativeInfinity(lse[i]))
            {
                Assert.Equal(float.NegativeInfinity, acc.Lse[i]);
            }
            else
            {
                Assert.True(Math.Abs(acc.Lse[i] - lse[i]) <= 1e-4, $"lse[{i}] = {acc.Lse[i]} vs {lse[i]}");
            }
        }
    }

    /// <summary>The blocks as device handles, then one <see cref="IAttentionBackend.AccumulateEach"/> of q over them.</summary>
    internal static PartialResult AccumulateEach(IAttentionBackend backend, AttentionSpec spec, TensorRows q, IReadOnlyList<KeyValueBlock> blocks)
    {
        var handles = blocks.Select(backend.UploadKeyValues).ToList();
        try
        {
            using var dq = backend.UploadRows(q);
            var acc = new PartialResult(q.Rows, spec.Heads, spec.HeadDim);
            using var dacc = backend.UploadAccumulator(acc);
            backend.AccumulateEach(spec, dq, handles, dacc);
            backend.Download(dacc, acc);
            return acc;
        }
        finally
        {
            handles.ForEach(h => h.Dispose());
        }
    }

    private static int WarpSize(IAttentionBackend backend) => ((IlgpuAttentionBackend)backend).Accelerator.WarpSize;
}
