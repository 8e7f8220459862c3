using RingAttention.Tensors;

namespace RingAttention.Tests;

/// <summary>FP8 E4M3 (fn): decoding of every code, rounding to nearest even, saturation, NaN, and the NaN scan.</summary>
public sealed class Fp8Tests
{
    [Theory]
    [InlineData(0x00, 0f)]
    [InlineData(0x80, -0f)]
    [InlineData(0x01, 0.001953125f)] // smallest subnormal, 2^-9
    [InlineData(0x07, 0.013671875f)] // largest subnormal, 7 * 2^-9
    [InlineData(0x08, 0.015625f)]    // smallest normal, 2^-6
    [InlineData(0x38, 1f)]
    [InlineData(0x39, 1.125f)]
    [InlineData(0xB8, -1f)]
    [InlineData(0x7E, 448f)]
    [InlineData(0xFE, -448f)]
    public void Decode_KnownCodes(int code, float expected) =>
        Assert.Equal(expected, ElementConvert.Fp8E4M3ToSingle((byte)code));

    [Fact]
    public void Decode_NaNCodes_AreNaN_AndEveryOtherCodeRoundTrips()
    {
        Assert.True(float.IsNaN(ElementConvert.Fp8E4M3ToSingle(0x7F)));
        Assert.True(float.IsNaN(ElementConvert.Fp8E4M3ToSingle(0xFF)));
        for (int code = 0; code < 256; code++)
        {
            if ((code & 0x7F) != 0x7F)
            {
                Assert.Equal(code, ElementConvert.SingleToFp8E4M3(ElementConvert.Fp8E4M3ToSingle((byte)code)));
            }
        }
    }

    [Theory]
    [InlineData(1.0625f, 0x38)]   // halfway between 1 and 1.125: to the even code
    [InlineData(1.1875f, 0x3A)]   // halfway between 1.125 and 1.25: to the even code
    [InlineData(1.07f, 0x39)]
    [InlineData(-1.07f, 0xB9)]
    [InlineData(1000f, 0x7E)]     // beyond 448: saturates (no infinity in E4M3 fn)
    [InlineData(-1000f, 0xFE)]
    [InlineData(float.PositiveInfinity, 0x7E)]
    [InlineData(float.NaN, 0x7F)]
    [InlineData(0.0009765625f, 0x00)] // 2^-10, halfway between 0 and the smallest subnormal: to even (0)
    public void Encode_RoundsToNearestEven_AndSaturates(float value, int expected) =>
        Assert.Equal(expected, ElementConvert.SingleToFp8E4M3(value));

    [Fact]
    public void NonFiniteScan_FindsTheFirstNaNCode()
    {
        Assert.Equal(-1, NonFiniteScan.IndexOf(new byte[] { 0x00, 0x7E, 0xFE, 0x38 }, ElementType.F8E4M3));
        Assert.Equal(2, NonFiniteScan.IndexOf(new byte[] { 0x00, 0x7E, 0xFF, 0x7F }, ElementType.F8E4M3));
    }

    [Fact]
    public void Fp8_IsAnInputType_ComputedOnAsBf16()
    {
        Assert.Equal(ElementType.BF16, ElementType.F8E4M3.ComputeType());
        Assert.Equal(ElementType.F16, ElementType.F16.ComputeType());
        Assert.True(ElementTypeExtensions.TryParseSafetensors("F8_E4M3", out var type) && type == ElementType.F8E4M3);
        Assert.Equal(1, ElementType.F8E4M3.Size());
        var spec = new RingAttention.Attention.AttentionSpec(4, 1, 1, 8, ElementType.F8E4M3, new(false, null));
        Assert.Equal("dtype", Assert.Throws<RingAttention.Attention.SpecValidationException>(() => spec.Validate()).Field);
    }

    [Fact]
    public void RandomInputs_AsFp8_StandForTheSyntheticValues_WithPerHeadFactors()
    {
        string path = Path.Combine(Path.GetTempPath(), $"fp8-gen-{Guid.NewGuid():N}.safetensors");
        try
        {
            RandomAttentionInputs.Write(path, tokens: 33, heads: 4, kvHeads: 2, headDim: 16, ElementType.F8E4M3, seed: 7);
            using var file = SafetensorsFile.Open(path);
            foreach (var (name, heads) in new[] { ("q", 4), ("k", 2), ("v", 2) })
            {
                Assert.Equal(ElementType.F8E4M3, file.GetTensor(name).Type);
                var factors = Fp8Descale.PerHead(file, name, heads, 2);
                Assert.Equal(RandomAttentionInputs.Fp8Factors(name, 2).Length == 1 ? 1 : 2, factors.Distinct().Count());
                var codes = new byte[33 * heads * 16];
                file.ReadElements(name, 0, codes);
                var expected = new float[codes.Length];
                SyntheticTensor.Fill(7, name, 0, expected);
                for (int i = 0; i < codes.Length; i++)
                {
                    float value = ElementConvert.Fp8E4M3ToSingle(codes[i]) * factors[i / 16 % heads];
                    // E4M3 keeps 4 significant bits: within 1/16 relative, or a subnormal step of the factor.
                    Assert.True(Math.Abs(value - expected[i]) <= (Math.Abs(expected[i]) / 16) + (factors[i / 16 % heads] / 512), $"{name}[{i}]: {value} vs {expected[i]}");
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AttentionSpec_Fp8KeyValueScales_ValidatedNamingTheField()
    {
        var spec = new RingAttention.Attention.AttentionSpec(64, 4, 2, 32, ElementType.BF16, RingAttention.Attention.AttentionMask.CausalMask);
        var good = spec with { KeyValueScales = new Fp8KeyValueScales([0.5f, 2f], [1f, 1f]) };
        Assert.Same(good, good.Validate());
        Assert.Equal(ElementType.F8E4M3, good.KeyValueType);
        Assert.Equal(ElementType.BF16, spec.KeyValueType);

        var wrongCount = Assert.Throws<RingAttention.Attention.SpecValidationException>(() => (spec with { KeyValueScales = new Fp8KeyValueScales([1f], [1f, 1f]) }).Validate());
        Assert.Equal("k_descale", wrongCount.Field);
        var zero = Assert.Throws<RingAttention.Attention.SpecValidationException>(() => (spec with { KeyValueScales = new Fp8KeyValueScales([1f, 1f], [1f, 0f]) }).Validate());
        Assert.Equal("v_descale", zero.Field);
        Assert.Contains("factor 1 is 0", zero.Message, StringComparison.Ordinal);
        var f16 = Assert.Throws<RingAttention.Attention.SpecValidationException>(() => (spec with { DType = ElementType.F16, KeyValueScales = good.KeyValueScales }).Validate());
        Assert.Equal("dtype", f16.Field);
    }
}
