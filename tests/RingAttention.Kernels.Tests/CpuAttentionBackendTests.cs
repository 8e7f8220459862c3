using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Tests;

/// <summary>The backend contract on the CPU backend with default tiles, plus CPU-only properties.</summary>
public class CpuAttentionBackendTests : AttentionBackendContract
{
    protected override IAttentionBackend CreateBackend() => new CpuAttentionBackend();

    [Theory]
    [InlineData(ElementType.F16)]
    [InlineData(ElementType.BF16)]
    public void Accumulate_HalfPrecisionStorage_ReachesFloat32Accuracy(ElementType type)
    {
        // The CPU widens f16/bf16 exactly and keeps P in f32, so against the same stored inputs its error is
        // f32 accumulation only; the dtype tolerance (2e-3, 1.6e-2) would hide a conversion bug.
        var c = AttentionCase.SelfAttention(700, 2, 1, 96, type, new AttentionMask(true, 300), seed: 77);
        var result = Run(c);
        ReferenceCheck.AssertMatches(c, result, c.KeyValues, ReferenceCheck.SampleRows(700), ReferenceAttention.Tolerance.For(ElementType.F32));
    }

    [Theory]
    [InlineData(128, 128, 128, ElementType.F32)]
    [InlineData(256, 64, 111, ElementType.BF16)]
    [InlineData(512, 512, 40, ElementType.F16)]
    [InlineData(128, 64, 200, ElementType.F16, 256)]
    public void Accumulate_WideTiles_MatchesReference(int queryTile, int keyTile, int headDim, ElementType type, int vectorBits = 512)
    {
        var c = AttentionCase.SelfAttention(1000, 2, 1, headDim, type, new AttentionMask(true, 600), seed: queryTile + headDim);
        using var backend = new CpuAttentionBackend(new CpuAttentionOptions { QueryTile = queryTile, KeyTile = keyTile, MaxVectorBits = vectorBits });
        var result = c.NewAccumulator();
        backend.Accumulate(c.Spec, c.Queries, c.KeyValues, result);
        ReferenceCheck.AssertMatches(c, result, c.KeyValues, ReferenceCheck.SampleRows(1000, 64), ReferenceAttention.Tolerance.For(type));
    }

    [Fact]
    public void Accumulate_CancelledMidway_ThrowsOperationCanceledQuickly()
    {
        // 4·4096²·8·128 = 69 GFLOP: well over 100 ms on any CPU we run on, cancelled after 20 ms.
        var c = AttentionCase.SelfAttention(4096, 8, 8, 128, ElementType.BF16, AttentionMask.None, seed: 4);
        _ = c.KeyValues; // generate the inputs before the clock starts
        using var backend = new CpuAttentionBackend();
        using var cancellation = new CancellationTokenSource();
        // A dedicated thread, not a timer: under a loaded CI run the thread pool (busy with the kernel's own workers)
        // ran a 20 ms timer only after the whole kernel had finished.
        var canceller = new Thread(() =>
        {
            Thread.Sleep(20);
            cancellation.Cancel();
        });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        canceller.Start();
        Assert.ThrowsAny<OperationCanceledException>(() => backend.Accumulate(c.Spec, c.Queries, c.KeyValues, c.NewAccumulator(), cancellation.Token));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"cancellation took {watch.Elapsed}");
    }

    [Fact]
    public void Accumulate_OneOrManyThreads_BitwiseIdentical()
    {
        // Each (head, query tile) item owns its output rows and runs the same code whatever the thread, so
        // results must not depend on scheduling.
        var c = AttentionCase.SelfAttention(500, 4, 2, 72, ElementType.BF16, AttentionMask.CausalMask, seed: 8);
        var results = new[] { 1, 2, 3 }.Select(threads =>
        {
            using var backend = new CpuAttentionBackend(new CpuAttentionOptions { MaxDegreeOfParallelism = threads });
            var result = c.NewAccumulator();
            backend.Accumulate(c.Spec, c.Queries, c.KeyValues, result);
            return result;
        }).ToArray();
        Assert.Equal(results[0].Output, results[1].Output);
        Assert.Equal(results[0].Output, results[2].Output);
        Assert.Equal(results[0].Lse, results[2].Lse);
    }

    /// <summary>
    /// Few query rows (decode: rows × group ≤ 8) take the decode loop: two query spans (one row each, so the vectors of a
    /// kv head sit at two positions), key spans out of order and longer than one work item, every mask and type, head dim
    /// 72 (vector remainders); against float64 at float32 accuracy (the loop widens exactly and keeps P in float32), and
    /// bitwise the same with 1, 2 or 3 threads and with small key tiles.
    /// </summary>
    [Theory]
    [MemberData(nameof(MasksAndTypes))]
    public void Accumulate_FewQueryRows_DecodeLoopMatchesReference(int maskIndex, ElementType type)
    {
        var spec = new AttentionSpec(3000, 8, 2, 72, type, AllMasks[maskIndex]).Validate();
        var c = new AttentionCase(spec, [new(1500, 1), new(2990, 1)], [new(1200, 1790), new(0, 1200), new(2990, 10)], Seed: 40 + maskIndex);
        Assert.True(DecodeLoop<Simd256>.Serves(c.Queries.Rows, spec.GroupSize));
        var results = new[] { (1, 64), (2, 64), (3, 16) }.Select(setting =>
        {
            using var backend = new CpuAttentionBackend(new CpuAttentionOptions { MaxDegreeOfParallelism = setting.Item1, KeyTile = setting.Item2 });
            var result = c.NewAccumulator();
            backend.Accumulate(c.Spec, c.Queries, c.KeyValues, result);
            return result;
        }).ToArray();
        ReferenceCheck.AssertMatches(c, results[0], c.KeyValues, Enumerable.Range(0, c.Queries.Rows), ReferenceAttention.Tolerance.For(ElementType.F32));
        Assert.Equal(results[0].Output, results[1].Output);
        Assert.Equal(results[0].Lse, results[1].Lse);
        ReferenceCheck.AssertClose(results[0], results[2], 1e-5, c.ValueMagnitude);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void Options_InvalidParallelism_ThrowsNamingOption(int threads)
    {
        var options = new CpuAttentionOptions { MaxDegreeOfParallelism = threads };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new CpuAttentionBackend(options));
        Assert.Equal(nameof(CpuAttentionOptions.MaxDegreeOfParallelism), error.ParamName);
    }

    [Fact]
    public void Options_VectorBits128_ThrowsNamingOption()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new CpuAttentionOptions { MaxVectorBits = 128 }.Validate());
        Assert.Equal(nameof(CpuAttentionOptions.MaxVectorBits), error.ParamName);
    }

    [Theory]
    [InlineData(8, 64)]
    [InlineData(64, 24)]
    [InlineData(1024, 64)]
    public void Options_InvalidTile_ThrowsNamingOption(int queryTile, int keyTile)
    {
        var options = new CpuAttentionOptions { QueryTile = queryTile, KeyTile = keyTile };
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());
        Assert.Equal(queryTile % 16 == 0 && queryTile <= CpuAttentionOptions.MaxTile ? nameof(CpuAttentionOptions.KeyTile) : nameof(CpuAttentionOptions.QueryTile), error.ParamName);
    }
}

/// <summary>
/// The mask and span cases again with other tiles: 16×16 (many more tile edges and partial tiles per case) and
/// 128×32 (query tiles wider than one 4-vector panel), on the 512-bit path where available and the 256-bit path.
/// </summary>
public class CpuAttentionBackendOtherTileTests
{
    public static TheoryData<int, ElementType> MasksAndTypes() => AttentionBackendContract.MasksAndTypes();

    [Theory]
    [MemberData(nameof(MasksAndTypes))]
    public void Accumulate_SmallTilesEveryMask_MatchesReference(int maskIndex, ElementType type)
    {
        AttentionMask[] masks = [AttentionMask.None, AttentionMask.CausalMask, new(false, 1), new(false, 19), new(true, 1), new(true, 40)];
        var spec = new AttentionSpec(400, 3, 1, 24, type, masks[maskIndex]).Validate();
        var c = new AttentionCase(spec, [new(30, 45), new(300, 33)], [new(0, 70), new(290, 60)], Seed: maskIndex);
        foreach (var (queryTile, keyTile, bits) in new[] { (16, 16, 512), (128, 32, 512), (16, 16, 256), (64, 128, 256) })
        {
            using var backend = new CpuAttentionBackend(new CpuAttentionOptions { QueryTile = queryTile, KeyTile = keyTile, MaxVectorBits = bits });
            var result = c.NewAccumulator();
            backend.Accumulate(c.Spec, c.Queries, c.KeyValues, result);
            ReferenceCheck.AssertMatches(c, result, c.KeyValues, Enumerable.Range(0, c.Queries.Rows), ReferenceAttention.Tolerance.For(type));
        }
    }
}
