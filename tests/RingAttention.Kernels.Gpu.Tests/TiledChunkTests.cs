using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The decode path's split-K work on Hopper's warp-specialized kernel over chunk tables (<see cref="ChunkedTiles"/>):
/// how a target's keys are cut (no GPU needed), and on a CUDA device (skipped with the reason elsewhere) session shards
/// of part-filled pages that share one launch, each equal to float64 and bit for bit to its own launch alone.
/// </summary>
public sealed class TiledChunkTests
{
    private static readonly WarpSpecializedVariant Short = WarpSpecializedKernel.Find(ElementType.BF16, 128, shortBlocks: true)!;

    [Theory]
    [InlineData(131072, 8192)]     // 16 key splits fill 132 SMs with 8 head groups: a 128K shard of a 1M session
    [InlineData(1048576, 65536)]   // as many splits for 1M keys alone
    [InlineData(5000, 512)]        // 10 splits of at least 4 key tiles (40 in all), rounded up to whole tiles
    [InlineData(100, 128)]         // one split, one tile
    public void ChunkKeys_WholeKeyTiles_AsThePlanSplitsTheTargetAlone(long keys, int expected)
    {
        var p = new FlashParams { QCount = 16, Heads = 32, Group = 4, KvHeads = 8, HeadDim = 128 };
        int chunk = ChunkedTiles.ChunkKeys(Short, 132, p, keys);
        Assert.Equal(expected, chunk);
        Assert.Equal(0, chunk % Short.BlockKeys);
        var plan = WarpSpecializedPlan.For(16, 32, 4, keys, Short.BlockRows, Short.BlockKeys, 132, fp8: false);
        Assert.Equal(plan.Splits, (int)((keys + chunk - 1) / chunk));
    }

    [SkippableTheory]
    [InlineData(8, "causal+window")]
    [InlineData(16, "causal")]
    public void SharedTurn_OnChunkTables_MatchesFloat64_EachShardAsAlone(int rows, string mask)
    {
        Skip.IfNot(GpuBackends.TryCreateCuda(out var created, out string reason), reason);
        using var backend = (CudaAttentionBackend)created!;
        Skip.If(backend.Flash.SelectedWarpSpecialized(ElementType.BF16, 128) is null, $"{backend.HardwareName}: no warp-specialized Hopper kernel");
        const int heads = 32, kvHeads = 8, dim = 128;
        // The window of 9000 ends inside the second shard; 700- and 5000-key pages end inside key tiles.
        var attentionMask = mask == "causal" ? AttentionMask.CausalMask : new AttentionMask(true, 9000);
        var spec = new AttentionSpec(20000, heads, kvHeads, dim, ElementType.BF16, attentionMask);
        var rng = new Random(rows);
        var q = Reference.Random(rng, spec.DType, heads, dim, new TokenSpan(20000 - rows, rows));
        KeyValueBlock Block(int start, int count) =>
            new(Reference.Random(rng, spec.DType, kvHeads, dim, new TokenSpan(start, count)), Reference.Random(rng, spec.DType, kvHeads, dim, new TokenSpan(start, count)));
        int[][] pages = [[0, 5000, 5000, 700], [5700, 5000, 10700, 4000], [14700, 5000, 19700, 300]];
        var blocks = pages.Select(p => new[] { Block(p[0], p[1]), Block(p[2], p[3]) }).ToList();
        var shards = blocks.Select(b => b.Select(backend.UploadKeyValues).ToList()).ToList();
        try
        {
            using var dq = backend.UploadRows(q);
            var alone = new List<PartialResult>();
            long tiled = backend.TiledChunkLaunches;
            foreach (var shard in shards)
            {
                using var acc = backend.CreateAccumulator(rows, heads, dim);
                backend.AccumulateEach(spec, dq, shard, acc);
                var result = new PartialResult(rows, heads, dim);
                backend.Download(acc, result);
                alone.Add(result);
            }

            Assert.Equal(shards.Count, backend.TiledChunkLaunches - tiled);
            var accumulators = shards.Select(_ => backend.CreateAccumulator(rows, heads, dim)).ToList();
            try
            {
                tiled = backend.TiledChunkLaunches;
                backend.AccumulateShards(spec, dq, [.. shards], [.. accumulators]);
                Assert.Equal(1, backend.TiledChunkLaunches - tiled);
                for (int s = 0; s < shards.Count; s++)
                {
                    var shared = new PartialResult(rows, heads, dim);
                    backend.Download(accumulators[s], shared);
                    Assert.Equal(alone[s].Output, shared.Output);
                    Assert.Equal(alone[s].Lse, shared.Lse);
                    var (o, lse) = Reference.Attention(spec, q, blocks[s]);
                    for (int i = 0; i < o.Length; i++)
                    {
                        // bf16: P is rounded to 8 mantissa bits before P·V (CudaTests' tolerance)
                        Assert.True(Math.Abs(o[i] - shared.Output[i]) <= 2e-2, $"shard {s} o[{i}]: {shared.Output[i]} vs {o[i]}");
                    }

                    for (int i = 0; i < lse.Length; i++)
                    {
                        Assert.True(double.IsNegativeInfinity(lse[i]) ? float.IsNegativeInfinity(shared.Lse[i]) : Math.Abs(lse[i] - shared.Lse[i]) <= 1e-4,
                            $"shard {s} lse[{i}]: {shared.Lse[i]} vs {lse[i]}");
                    }
                }
            }
            finally
            {
                accumulators.ForEach(a => a.Dispose());
            }
        }
        finally
        {
            shards.SelectMany(s => s).ToList().ForEach(h => h.Dispose());
        }
    }
}
