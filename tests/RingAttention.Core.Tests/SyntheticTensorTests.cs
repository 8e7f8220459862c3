using RingAttention.Tensors;

namespace RingAttention.Tests;

public sealed class SyntheticTensorTests
{
    [Theory]
    [InlineData(37, 16)]
    [InlineData(38, 15)]
    [InlineData(0, 1)]
    [InlineData(99, 1)]
    public void Fill_SubRange_EqualsSameElementsOfALargerFill(int first, int count)
    {
        var all = new float[100];
        SyntheticTensor.Fill(seed: 42, "q", 0, all);
        var part = new float[count];
        SyntheticTensor.Fill(seed: 42, "q", first, part);
        Assert.Equal(all.AsSpan(first, count).ToArray(), part);
    }

    [Theory]
    [InlineData(ElementType.F32)]
    [InlineData(ElementType.F16)]
    [InlineData(ElementType.BF16)]
    public void FillRows_SubRange_EqualsSameRowsOfAllRowsAndConvertedFill(ElementType type)
    {
        // k [T=100, Hkv=3, D=5]: rows [37, 53) generated alone match rows 37..52 of the whole tensor.
        const int rowElements = 15;
        int rowBytes = rowElements * type.Size();
        var all = new byte[100 * rowBytes];
        SyntheticTensor.FillRows(7, "k", type, rowElements, 0, 100, all);
        var part = new byte[16 * rowBytes];
        SyntheticTensor.FillRows(7, "k", type, rowElements, 37, 16, part);
        Assert.Equal(all.AsSpan(37 * rowBytes, 16 * rowBytes).ToArray(), part);

        var floats = new float[100 * rowElements];
        SyntheticTensor.Fill(7, "k", 0, floats);
        var converted = new byte[all.Length];
        ElementConvert.FromSingle(floats, type, converted);
        Assert.Equal(converted, all);
    }

    [Fact]
    public void Fill_OtherSeedOrName_GivesOtherValues()
    {
        var a = new float[64];
        var b = new float[64];
        var c = new float[64];
        SyntheticTensor.Fill(1, "q", 0, a);
        SyntheticTensor.Fill(2, "q", 0, b);
        SyntheticTensor.Fill(1, "k", 0, c);
        Assert.All(Enumerable.Range(0, 64), i => Assert.True(a[i] != b[i] && a[i] != c[i]));
    }

    [Fact]
    public void Fill_ManyElements_IsStandardNormal()
    {
        var x = new float[400_000];
        SyntheticTensor.Fill(3, "v", 12_345, x);
        double mean = x.Average(v => (double)v);
        double variance = x.Average(v => (v - mean) * (v - mean));
        double fractionWithinOneSigma = x.Count(v => Math.Abs(v) < 1) / (double)x.Length;
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.99, 1.01);
        Assert.InRange(fractionWithinOneSigma, 0.680, 0.685); // 0.6827
        Assert.All(x, v => Assert.InRange(v, -6.7f, 6.7f));
    }

    /// <summary>The parallel fill (blocks of rows on every core) writes the bytes one thread writes.</summary>
    [Theory]
    [InlineData(ElementType.BF16, 3000, 48 * 128)]
    [InlineData(ElementType.F32, 1001, 7)]
    [InlineData(ElementType.F16, 5, 100_000)]
    public void FillRowsParallel_EqualsOneThreadsFill(ElementType type, int rows, int rowElements)
    {
        byte[] serial = new byte[(long)rows * rowElements * type.Size()], parallel = new byte[serial.Length];
        SyntheticTensor.FillRows(3, "k", type, rowElements, 17, rows, serial);
        SyntheticTensor.FillRowsParallel(3, "k", type, rowElements, 17, rows, parallel);
        Assert.Equal(serial, parallel);
    }
}
