using ILGPU.Runtime.CPU;
using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The split-K decode kernel with the lane layouts of the GPU's head dims (8 lanes a key at d = 128, 16 at d = 256),
/// which ILGPU's default CPU device (4-lane warps) cannot run: here on a CPU device with NVIDIA-shaped 32-lane warps,
/// over several pages, against float64.
/// </summary>
public sealed class WideWarpDecodeTests : IDisposable
{
    private readonly PortableAttentionBackend _backend = PortableAttentionBackend.CreateCpuSet(1, CPUDeviceKind.Nvidia)[0];

    public void Dispose() => _backend.Dispose();

    [Theory]
    [InlineData(128, 8, 2, 1, "bf16", "causal")]
    [InlineData(128, 4, 1, 2, "f16", "causal+window")]
    [InlineData(256, 4, 2, 1, "bf16", "none")]
    [InlineData(96, 4, 2, 2, "f32", "causal")]
    public void AccumulateEach_GpuLaneLayouts_MatchFloat64(int dim, int heads, int kvHeads, int rows, string dtype, string mask)
    {
        Assert.Equal(32, _backend.Accelerator.WarpSize);
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        var attentionMask = mask switch { "causal" => AttentionMask.CausalMask, "none" => AttentionMask.None, _ => new AttentionMask(true, 150) };
        var spec = new AttentionSpec(400, heads, kvHeads, dim, type, attentionMask);
        Assert.True(DecodeKernel.Serves(rows, spec.GroupSize, 300, dim, 32));
        Assert.Equal(dim <= 128 ? 8 : 16, DecodeKernel.LanesPerKey(dim));
        var rng = new Random(HashCode.Combine(dim, heads, rows, dtype, mask));
        var q = Reference.Random(rng, type, heads, dim, new TokenSpan(380 - rows, rows));
        KeyValueBlock Block(TokenSpan span) => new(Reference.Random(rng, type, kvHeads, dim, span), Reference.Random(rng, type, kvHeads, dim, span));
        var blocks = new[] { Block(new TokenSpan(0, 77)), Block(new TokenSpan(77, 200)), Block(new TokenSpan(277, 103)) };
        var acc = AttentionBackendTests.AccumulateEach(_backend, spec, q, blocks);
        // Both sides read the same stored values; float32 accumulation over 380 keys.
        var (o, lse) = Reference.Attention(spec, q, blocks);
        for (int i = 0; i < o.Length; i++)
        {
            Assert.True(Math.Abs(acc.Output[i] - o[i]) <= 2e-5, $"o[{i}] = {acc.Output[i]} but float64 gives {o[i]}");
        }

        for (int i = 0; i < lse.Length; i++)
        {
            Assert.True(Math.Abs(acc.Lse[i] - lse[i]) <= 1e-4, $"lse[{i}] = {acc.Lse[i]} but float64 gives {lse[i]}");
        }
    }

    /// <summary>
    /// The tensor-core split kernel (<see cref="DecodeMmaKernel"/>) through its warp-shuffle twin of the mma: head dims
    /// with every output n-tile group full (128, 32, 64) and one half-empty (80), two to eight query vectors (one warp,
    /// rows 0-7) and twelve or twenty (wide warps of sixteen, rows 8-15 part-filled or empty in the last), every mask, both types, pages that end mid-turn; against float64 within the rounding
    /// of P to the input type (bf16 2^-9, f16 2^-11 of the largest |v|), lse within 1e-4 (its sums are not rounded). Few
    /// keys: the CPU accelerator pays a warp barrier per shuffle, 1024 a turn of 16 keys.
    /// </summary>
    [Theory]
    [InlineData(128, 4, 1, 2, "bf16", "causal")]
    [InlineData(80, 4, 2, 1, "f16", "none")]
    [InlineData(32, 4, 1, 5, "bf16", "causal+window")]
    [InlineData(64, 4, 1, 3, "f16", "causal")]
    public void AccumulateEach_TensorCoreKernel_MatchesFloat64(int dim, int heads, int kvHeads, int rows, string dtype, string mask)
    {
        Assert.True(ElementTypeExtensions.TryParseUser(dtype, out var type));
        // 88 keys in pages of 21, 40 and 27 (none a whole number of 16-key turns); the window of 50 starts inside the second.
        var attentionMask = mask switch { "causal" => AttentionMask.CausalMask, "none" => AttentionMask.None, _ => new AttentionMask(true, 50) };
        var spec = new AttentionSpec(100, heads, kvHeads, dim, type, attentionMask);
        Assert.True(DecodeMmaKernel.Serves(type, rows * spec.GroupSize, dim, 32));
        var rng = new Random(1000 + dim + (10 * heads) + (100 * rows) + (mask.Length * 7) + dtype.Length);
        var q = Reference.Random(rng, type, heads, dim, new TokenSpan(88 - rows, rows));
        KeyValueBlock Block(TokenSpan span) => new(Reference.Random(rng, type, kvHeads, dim, span), Reference.Random(rng, type, kvHeads, dim, span));
        var blocks = new[] { Block(new TokenSpan(0, 21)), Block(new TokenSpan(21, 40)), Block(new TokenSpan(61, 27)) };
        _backend.UseDecodeMma = true;
        long before = _backend.TensorCoreDecodeLaunches;
        var acc = AttentionBackendTests.AccumulateEach(_backend, spec, q, blocks);
        Assert.True(_backend.TensorCoreDecodeLaunches > before, "the tensor-core decode kernel did not run");
        var (o, lse) = Reference.Attention(spec, q, blocks);
        const double vMax = 1.5; // Reference.Random draws from [-1.5, 1.5]
        double bound = (type == ElementType.BF16 ? 1.0 / 512 : 1.0 / 2048) * vMax;
        for (int i = 0; i < o.Length; i++)
        {
            Assert.False(float.IsNaN(acc.Output[i]), $"o[{i}] is NaN");
            Assert.True(Math.Abs(acc.Output[i] - o[i]) <= bound, $"o[{i}] = {acc.Output[i]} but float64 gives {o[i]} (bound {bound})");
        }

        for (int i = 0; i < lse.Length; i++)
        {
            Assert.True(Math.Abs(acc.Lse[i] - lse[i]) <= 1e-4, $"lse[{i}] = {acc.Lse[i]} but float64 gives {lse[i]}");
        }
    }
}
