using RingAttention.Attention;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// <see cref="IAttentionBackend.DequantiseFp8"/> on every backend: a block of every e4m3 code (subnormals, both zeros,
/// the largest finite) over two uneven spans, with a different factor per kv head for K and for V, gives bit for bit
/// what dequantising on load gives (<see cref="Fp8Descale.Dequantise"/>), so an FP8 job's output does not depend on
/// where its K/V were expanded. Bad operands are refused naming the argument.
/// </summary>
public sealed class Fp8DequantiseTests
{
    [SkippableTheory]
    [InlineData("cpu")]
    [InlineData("ilgpu")]
    [InlineData("cuda")]
    public void DequantiseFp8_EveryCode_BitwiseAsOnLoad(string backendName)
    {
        using var backend = Create(backendName);
        const int kvHeads = 3, headDim = 24;
        TokenSpan[] spans = [new(0, 37), new(90, 22)];
        int rows = spans.Sum(s => s.Count);
        var rng = new Random(8);
        // Every finite code appears (NaN codes, S.1111.111, are refused when a file is read).
        var codes = new byte[2 * rows * kvHeads * headDim];
        for (int i = 0; i < codes.Length; i++)
        {
            byte code = (byte)(i < 256 ? i : rng.Next(256));
            codes[i] = (code & 0x7F) == 0x7F ? (byte)(code ^ 1) : code;
        }

        var scales = new Fp8KeyValueScales([0.013f, 1f, 7.5f], [0.5f, 0.0021f, 300f]);
        var expected = new byte[2 * codes.Length];
        int keyBytes = codes.Length / 2;
        Fp8Descale.Dequantise(codes.AsSpan(0, keyBytes), expected.AsSpan(0, 2 * keyBytes), kvHeads, headDim, scales.Keys);
        Fp8Descale.Dequantise(codes.AsSpan(keyBytes), expected.AsSpan(2 * keyBytes), kvHeads, headDim, scales.Values);

        using var fp8 = backend.AllocateKeyValues(ElementType.F8E4M3, kvHeads, headDim, spans);
        using var bf16 = backend.AllocateKeyValues(ElementType.BF16, kvHeads, headDim, spans);
        Assert.Equal(codes.Length, fp8.DataBytes);
        backend.CopyToDevice(fp8, 0, codes);
        backend.DequantiseFp8(fp8, bf16, scales);
        var actual = new byte[bf16.DataBytes];
        backend.CopyFromDevice(bf16, 0, actual);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void DequantiseFp8_BadOperands_RefusedNamingTheArgument()
    {
        using var backend = PortableAttentionBackend.CreateCpu();
        TokenSpan[] spans = [new(0, 5)];
        using var fp8 = backend.AllocateKeyValues(ElementType.F8E4M3, 2, 8, spans);
        using var bf16 = backend.AllocateKeyValues(ElementType.BF16, 2, 8, spans);
        using var shorter = backend.AllocateKeyValues(ElementType.BF16, 2, 8, [new TokenSpan(0, 4)]);
        var scales = new Fp8KeyValueScales([1f, 1f], [1f, 1f]);
        Assert.Equal("codes", Assert.Throws<ArgumentException>(() => backend.DequantiseFp8(bf16, bf16, scales)).ParamName);
        Assert.Equal("target", Assert.Throws<ArgumentException>(() => backend.DequantiseFp8(fp8, shorter, scales)).ParamName);
        var bad = Assert.Throws<ArgumentException>(() => backend.DequantiseFp8(fp8, bf16, new Fp8KeyValueScales([1f], [1f, 1f])));
        Assert.Equal("scales", bad.ParamName);
        Assert.Contains("k_descale", bad.Message, StringComparison.Ordinal);
    }

    private static IAttentionBackend Create(string name)
    {
        switch (name)
        {
            case "cpu":
                return new CpuAttentionBackend();
            case "ilgpu":
                return PortableAttentionBackend.CreateCpu();
            default:
                Skip.IfNot(GpuBackends.TryCreateCuda(out var cuda, out string reason), reason);
                return cuda!;
        }
    }
}
