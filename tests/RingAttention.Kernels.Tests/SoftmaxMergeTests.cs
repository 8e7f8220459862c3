using RingAttention.Kernels;

namespace RingAttention.Kernels.Tests;

public class SoftmaxMergeTests
{
    [Fact]
    public void MergeRow_TwoFiniteSides_EqualsLogSumExpFormula()
    {
        float[] a = [1f, -2f, 0.5f];
        float[] b = [3f, 4f, -1f];
        float lse = 1.25f;
        const float otherLse = 2.5f;
        SoftmaxMerge.MergeRow(a, ref lse, b, otherLse);

        double ea = Math.Exp(1.25), eb = Math.Exp(2.5);
        Assert.Equal(Math.Log(ea + eb), lse, 6);
        double[] expected = [(ea * 1 + eb * 3) / (ea + eb), (ea * -2 + eb * 4) / (ea + eb), (ea * 0.5 + eb * -1) / (ea + eb)];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i], a[i], 6);
        }
    }

    [Fact]
    public void MergeRow_OtherEmpty_IsIdentity()
    {
        float[] a = [1f, 2f];
        float lse = 0.75f;
        SoftmaxMerge.MergeRow(a, ref lse, [float.MaxValue, -3f], float.NegativeInfinity);
        Assert.Equal([1f, 2f], a);
        Assert.Equal(0.75f, lse);
    }

    [Fact]
    public void MergeRow_IntoEmpty_CopiesOtherExactly()
    {
        float[] a = [0f, 0f];
        float lse = float.NegativeInfinity;
        SoftmaxMerge.MergeRow(a, ref lse, [1.5f, -7f], 3.25f);
        Assert.Equal([1.5f, -7f], a);
        Assert.Equal(3.25f, lse);
    }

    [Fact]
    public void MergeRow_BothEmpty_StaysEmptyWithoutNaN()
    {
        float[] a = [0f, 0f];
        float lse = float.NegativeInfinity;
        SoftmaxMerge.MergeRow(a, ref lse, [0f, 0f], float.NegativeInfinity);
        Assert.Equal([0f, 0f], a);
        Assert.Equal(float.NegativeInfinity, lse);
    }

    [Theory]
    [InlineData(1000f, -1000f)]
    [InlineData(-1000f, 1000f)]
    [InlineData(88.8f, 88.7f)]
    [InlineData(1e30f, 1e30f)]
    public void MergeRow_ExtremeLse_FiniteAndDominatedByLarger(float lse, float otherLse)
    {
        float[] a = [1f];
        float merged = lse;
        SoftmaxMerge.MergeRow(a, ref merged, [2f], otherLse);
        Assert.True(float.IsFinite(merged) && float.IsFinite(a[0]), $"{merged}, {a[0]}");
        Assert.True(merged >= Math.Max(lse, otherLse));
        if (Math.Abs(lse - otherLse) > 100)
        {
            Assert.Equal(lse > otherLse ? 1f : 2f, a[0]);
        }
    }

    [Fact]
    public void MergeInto_EmptyPartial_IsIdentityBothWays()
    {
        var full = new PartialResult(5, 3, 7);
        var random = new Random(1);
        for (int i = 0; i < full.Output.Length; i++)
        {
            full.Output[i] = (float)random.NextDouble();
        }

        for (int i = 0; i < full.Lse.Length; i++)
        {
            full.Lse[i] = i % 4 == 0 ? float.NegativeInfinity : (float)(10 * random.NextDouble());
            if (i % 4 == 0)
            {
                int h = i / 5, r = i % 5;
                full.Output.AsSpan(((r * 3) + h) * 7, 7).Clear();
            }
        }

        var before = (Output: full.Output.ToArray(), Lse: full.Lse.ToArray());
        SoftmaxMerge.MergeInto(full, new PartialResult(5, 3, 7));
        Assert.Equal(before.Output, full.Output);
        Assert.Equal(before.Lse, full.Lse);

        var empty = new PartialResult(5, 3, 7);
        SoftmaxMerge.MergeInto(empty, full);
        Assert.Equal(before.Output, empty.Output);
        Assert.Equal(before.Lse, empty.Lse);
    }

    [Fact]
    public void MergeInto_ShapeMismatch_ThrowsNamingOther()
    {
        var error = Assert.Throws<ArgumentException>(() => SoftmaxMerge.MergeInto(new PartialResult(2, 2, 4), new PartialResult(2, 2, 5)));
        Assert.Equal("other", error.ParamName);
    }

    [Theory]
    [InlineData(0f, 0f)]
    [InlineData(3f, -40f)]
    [InlineData(-800f, 800f)]
    [InlineData(1e30f, 1e30f)]
    public void Combine_AnyLse_WeightsSumToOneAndLseIsLogSumExp(float lseA, float lseB)
    {
        float lse = SoftmaxMerge.Combine<HostMath>(lseA, lseB, out float wa, out float wb);

        Assert.InRange(wa, 0f, 1f);
        Assert.InRange(wb, 0f, 1f);
        Assert.Equal(1.0, wa + wb, 6);
        double top = Math.Max(lseA, lseB);
        double expected = top + Math.Log(Math.Exp(lseA - top) + Math.Exp(lseB - top));
        Assert.Equal(1.0, lse / expected, 6);
    }
}
