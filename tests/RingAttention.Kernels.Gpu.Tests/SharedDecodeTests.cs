using ILGPU.Runtime.CPU;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// Session shards that share a device share their split-K launches (<see cref="IAttentionBackend.AccumulateShards"/>,
/// ADR 21): one split launch over every shard's chunks, one merge per shard, and each shard's result bit for bit its
/// result alone. On a CPU device with 32-lane warps, both split kernels (the tensor-core one through its twin).
/// </summary>
public sealed class SharedDecodeTests : IDisposable
{
    private readonly PortableAttentionBackend _backend = PortableAttentionBackend.CreateCpuSet(1, CPUDeviceKind.Nvidia)[0];

    public void Dispose() => _backend.Dispose();

    [Theory]
    [InlineData("float", 64, 4, 2, 2, "bf16", "causal+window")]
    [InlineData("mma", 32, 4, 1, 1, "f16", "causal")]
    public void AccumulateShards_SameQueries_OneSplitLaunch_EachAsAlone(string kernel, int dim, int heads, int kvHeads, int rows, string dtype, string mask)
    {
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        _backend.UseDecodeMma = kernel == "mma";
        // The window of 250 ends inside the first shard.
        var attentionMask = mask == "causal" ? AttentionMask.CausalMask : new AttentionMask(true, 250);
        var spec = new AttentionSpec(300, heads, kvHeads, dim, type, attentionMask);
        var rng = new Random(dim + rows);
        var q = Reference.Random(rng, type, heads, dim, new TokenSpan(290 - rows, rows));
        KeyValueBlock Block(int start, int count) =>
            new(Reference.Random(rng, type, kvHeads, dim, new TokenSpan(start, count)), Reference.Random(rng, type, kvHeads, dim, new TokenSpan(start, count)));
        // Three shards of two pages (the last page of each part-filled), in the order of a session's ring.
        int[][] pages = [[0, 40, 40, 33], [73, 40, 113, 21], [134, 40, 174, 116]];
        var shards = pages.Select(p => new[] { Block(p[0], p[1]), Block(p[2], p[3]) }.Select(_backend.UploadKeyValues).ToList()).ToList();
        try
        {
            using var dq = _backend.UploadRows(q);
            var alone = new List<PartialResult>();
            long launches = _backend.DecodeLaunches;
            foreach (var shard in shards)
            {
                using var acc = _backend.CreateAccumulator(rows, heads, dim);
                _backend.AccumulateEach(spec, dq, shard, acc);
                var result = new PartialResult(rows, heads, dim);
                _backend.Download(acc, result);
                alone.Add(result);
            }

            Assert.Equal(shards.Count, _backend.DecodeLaunches - launches);
            long tensorCore = _backend.TensorCoreDecodeLaunches;
            launches = _backend.DecodeLaunches;
            var accumulators = shards.Select(_ => _backend.CreateAccumulator(rows, heads, dim)).ToList();
            try
            {
                _backend.AccumulateShards(spec, dq, [.. shards], [.. accumulators]);
                Assert.Equal(1, _backend.DecodeLaunches - launches);
                Assert.Equal(kernel == "mma" ? 1 : 0, _backend.TensorCoreDecodeLaunches - tensorCore);
                for (int s = 0; s < shards.Count; s++)
                {
                    var shared = new PartialResult(rows, heads, dim);
                    _backend.Download(accumulators[s], shared);
                    Assert.Equal(alone[s].Output, shared.Output);
                    Assert.Equal(alone[s].Lse, shared.Lse);
                    Assert.All(shared.Lse, l => Assert.True(float.IsFinite(l)));
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
