using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Tests;

public class ReferenceAttentionTests
{
    [Fact]
    public void ComputeRow_TwoKeysByHand_MatchesSoftmaxFormula()
    {
        // q = [1, 0], k0 = [1, 0], k1 = [0, 1], scale 1: logits 1 and 0.
        var spec = new AttentionSpec(2, 1, 1, 2, ElementType.F32, AttentionMask.None, Scale: 1f);
        double[][] k = [[1, 0], [0, 1]];
        double[][] v = [[10, 0], [0, 20]];
        var output = new double[2];
        double lse = ReferenceAttention.ComputeRow(spec, 0, 0, d => d == 0 ? 1 : 0, 2, i => i, (r, _, d) => k[r][d], (r, _, d) => v[r][d], output);
        double e = Math.E;
        Assert.Equal(Math.Log(e + 1), lse, 12);
        Assert.Equal(10 * e / (e + 1), output[0], 12);
        Assert.Equal(20 / (e + 1), output[1], 12);
    }

    [Fact]
    public void ComputeRow_HugeLogits_NoOverflow()
    {
        var spec = new AttentionSpec(2, 1, 1, 1, ElementType.F32, AttentionMask.None, Scale: 1f);
        var output = new double[1];
        double lse = ReferenceAttention.ComputeRow(spec, 0, 0, _ => 1000, 2, i => i, (r, _, _) => r == 0 ? 1 : 0.999, (r, _, _) => r, output);
        Assert.Equal(1000 + Math.Log(1 + Math.Exp(-1)), lse, 9);
        Assert.Equal(Math.Exp(-1) / (1 + Math.Exp(-1)), output[0], 12);
    }

    [Fact]
    public void ComputeRow_NoVisibleKey_LseMinusInfOutputZero()
    {
        var spec = new AttentionSpec(10, 1, 1, 3, ElementType.BF16, AttentionMask.CausalMask);
        var output = new double[] { 5, 5, 5 };
        double lse = ReferenceAttention.ComputeRow(spec, 2, 0, _ => 1, 2, i => 5 + i, (_, _, _) => 1, (_, _, _) => 1, output);
        Assert.Equal(double.NegativeInfinity, lse);
        Assert.Equal([0.0, 0.0, 0.0], output);
    }

    [Fact]
    public void ComputeRow_SpansAndAccessorOverloads_Agree()
    {
        var c = AttentionCase.SelfAttention(50, 4, 2, 8, ElementType.F16, new AttentionMask(true, 20), seed: 2, start: 100);
        var bySpan = new double[8];
        var byDelegate = new double[8];
        var q = c.Queries.Data.ToArray();
        var k = c.KeyValues.Keys.Data.ToArray();
        var v = c.KeyValues.Values.Data.ToArray();
        double lse1 = ReferenceAttention.ComputeRow(c.Spec, q, c.Queries.Spans, 30, 3, k, v, c.KeyValues.Keys.Spans, bySpan);
        double lse2 = ReferenceAttention.ComputeRow(
            c.Spec, 130, 3, d => ElementConvert.Read(q, ElementType.F16, ((30 * 4) + 3) * 8 + d), 50, i => 100 + i,
            (r, h, d) => ElementConvert.Read(k, ElementType.F16, ((r * 2) + h) * 8 + d),
            (r, h, d) => ElementConvert.Read(v, ElementType.F16, ((r * 2) + h) * 8 + d), byDelegate);
        Assert.Equal(lse1, lse2);
        Assert.Equal(bySpan, byDelegate);
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void CompareRow_NonFiniteOutput_Fails(float bad)
    {
        var result = ReferenceAttention.CompareRow([0.5f, bad], 1.0, [0.5, 0.5], 1.0, new ReferenceAttention.Tolerance(1e9, 1e9), 1);
        Assert.False(result.Passed);
        Assert.Contains("not finite", result.Failure);
    }

    [Theory]
    [InlineData(double.NaN, 1.0)]
    [InlineData(1.0, double.NaN)]
    [InlineData(double.NegativeInfinity, 1.0)]
    [InlineData(1.0, double.NegativeInfinity)]
    public void CompareRow_BadLse_Fails(double actualLse, double expectedLse)
    {
        var result = ReferenceAttention.CompareRow([0f], actualLse, [0.0], expectedLse, new ReferenceAttention.Tolerance(1e9, 1e9), 1);
        Assert.False(result.Passed);
    }

    [Fact]
    public void CompareRow_WithinAndBeyondTolerance_PassesThenFails()
    {
        var tolerance = ReferenceAttention.Tolerance.For(ElementType.BF16);
        Assert.True(ReferenceAttention.CompareRow([1.03f], 2.0, [1.0], 2.0, tolerance, magnitude: 2).Passed);
        Assert.False(ReferenceAttention.CompareRow([1.04f], 2.0, [1.0], 2.0, tolerance, magnitude: 2).Passed);
        Assert.True(ReferenceAttention.CompareRow([0f], double.NegativeInfinity, [0.0], double.NegativeInfinity, tolerance, 1).Passed);
    }
}
