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
    [InlineData("float", 64, 8, 2, 2, "bf16", "causal+window")]
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

    /// <summary>
    /// <see cref="IAttentionBackend.AttendShards"/> (a session attend's turn: every shard's result in one buffer, one fill,
    /// one download) gives each shard bit for bit its result alone — a fresh accumulator, its blocks, a download — also
    /// for a shard none of whose keys the queries see (its slice stays 0 / −∞); on the CPU backend too (the default).
    /// </summary>
    [Theory]
    [InlineData("ilgpu", "mma", 32, 4, 1, 1, "bf16")]
    [InlineData("ilgpu", "float", 64, 8, 2, 3, "f16")]
    [InlineData("cpu", "float", 64, 8, 2, 3, "bf16")]
    public void AttendShards_OneResultBuffer_EachAsAlone(string backendKind, string kernel, int dim, int heads, int kvHeads, int rows, string dtype)
    {
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        _backend.UseDecodeMma = kernel == "mma";
        using var cpu = new Cpu.CpuAttentionBackend();
        IAttentionBackend backend = backendKind == "cpu" ? cpu : _backend;
        var spec = new AttentionSpec(300, heads, kvHeads, dim, type, AttentionMask.CausalMask);
        var rng = new Random(dim + rows + 7);
        var q = Reference.Random(rng, type, heads, dim, new TokenSpan(290 - rows, rows));
        KeyValueBlock Block(int start, int count) =>
            new(Reference.Random(rng, type, kvHeads, dim, new TokenSpan(start, count)), Reference.Random(rng, type, kvHeads, dim, new TokenSpan(start, count)));
        // Three shards of two pages, and one after the queries (causal: nothing visible).
        int[][] pages = [[0, 40, 40, 33], [73, 40, 113, 21], [134, 40, 174, 116], [290, 5, 295, 5]];
        var shards = pages.Select(p => new[] { Block(p[0], p[1]), Block(p[2], p[3]) }.Select(backend.UploadKeyValues).ToList()).ToList();
        try
        {
            using var dq = backend.UploadRows(q);
            var alone = new List<PartialResult>();
            foreach (var shard in shards)
            {
                using var acc = backend.CreateAccumulator(rows, heads, dim);
                backend.AccumulateEach(spec, dq, shard, acc);
                var result = new PartialResult(rows, heads, dim);
                backend.Download(acc, result);
                alone.Add(result);
            }

            var together = shards.Select(_ => new PartialResult(rows, heads, dim)).ToList();
            together.ForEach(r => Array.Fill(r.Output, float.NaN)); // overwritten, not merged into
            backend.AttendShards(spec, dq, [.. shards], together);
            for (int s = 0; s < shards.Count; s++)
            {
                Assert.Equal(alone[s].Output, together[s].Output);
                Assert.Equal(alone[s].Lse, together[s].Lse);
            }

            Assert.All(together[^1].Lse, l => Assert.Equal(float.NegativeInfinity, l));
            Assert.All(together[^1].Output, o => Assert.Equal(0f, o));
            Assert.All(together[0].Lse, l => Assert.True(float.IsFinite(l)));
            Assert.Throws<ArgumentException>(() => backend.AttendShards(spec, dq, [.. shards], together.Take(2).ToList()));
        }
        finally
        {
            shards.SelectMany(s => s).ToList().ForEach(h => h.Dispose());
        }
    }
}
