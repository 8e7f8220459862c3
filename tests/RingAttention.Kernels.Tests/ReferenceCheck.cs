using RingAttention.Attention;
using RingAttention.Kernels;

namespace RingAttention.Kernels.Tests;

/// <summary>Asserts a backend's result against <see cref="ReferenceAttention"/> on all or sampled rows.</summary>
public static class ReferenceCheck
{
    /// <summary>Rows to check: all when few, else first/last, tile edges and seeded random rows.</summary>
    public static IEnumerable<int> SampleRows(int rows, int maxRows = 48, int seed = 7)
    {
        if (rows <= maxRows)
        {
            return Enumerable.Range(0, rows);
        }

        var picked = new SortedSet<int> { 0, 1, rows - 2, rows - 1 };
        foreach (int edge in new[] { 15, 16, 17, 63, 64, 65, 127, 128, 129 })
        {
            if (edge < rows)
            {
                picked.Add(edge);
            }
        }

        var random = new Random(seed);
        while (picked.Count < maxRows)
        {
            picked.Add(random.Next(rows));
        }

        return picked;
    }

    /// <summary>Every output and lse value is finite, or (lse -inf, output exactly 0) for rows with no visible key.</summary>
    public static void AssertFiniteOrEmpty(PartialResult result)
    {
        for (int h = 0; h < result.Heads; h++)
        {
            for (int r = 0; r < result.Rows; r++)
            {
                float lse = result.Lse[(h * result.Rows) + r];
                var row = result.Output.AsSpan(((r * result.Heads) + h) * result.HeadDim, result.HeadDim);
                Assert.False(float.IsNaN(lse) || float.IsPositiveInfinity(lse), $"lse[{h}, {r}] = {lse}");
                foreach (float o in row)
                {
                    Assert.True(float.IsFinite(o), $"o[{r}, {h}] holds {o}");
                    if (float.IsNegativeInfinity(lse))
                    {
                        Assert.Equal(0f, o);
                    }
                }
            }
        }
    }

    /// <summary>Compares the given rows (all heads) with the float64 reference over <paramref name="keys"/>.</summary>
    public static void AssertMatches(AttentionCase c, PartialResult result, KeyValueBlock keys, IEnumerable<int> rows, ReferenceAttention.Tolerance tolerance)
    {
        AssertFiniteOrEmpty(result);
        var spec = c.Spec;
        double magnitude = c.ValueMagnitude;
        var expected = new double[spec.HeadDim];
        foreach (int r in rows)
        {
            for (int h = 0; h < spec.Heads; h++)
            {
                double lse = ReferenceAttention.ComputeRow(
                    spec, c.Queries.Data.Span, c.Queries.Spans, r, h, keys.Keys.Data.Span, keys.Values.Data.Span, keys.Keys.Spans, expected);
                var actual = result.Output.AsSpan(((r * spec.Heads) + h) * spec.HeadDim, spec.HeadDim);
                var comparison = ReferenceAttention.CompareRow(actual, result.Lse[(h * result.Rows) + r], expected, lse, tolerance, magnitude);
                Assert.True(comparison.Passed, $"row {r} (position {ReferenceAttention.PositionOf(c.Queries.Spans, r)}), head {h}: {comparison.Failure}");
            }
        }
    }

    /// <summary>Element-wise |a - b| ≤ tol · magnitude on outputs and ≤ tol · max(1, |lse|) on lse; -inf must match.</summary>
    public static void AssertClose(PartialResult expected, PartialResult actual, double tolerance, double magnitude)
    {
        Assert.Equal(expected.Lse.Length, actual.Lse.Length);
        for (int i = 0; i < expected.Lse.Length; i++)
        {
            float e = expected.Lse[i];
            float a = actual.Lse[i];
            if (float.IsNegativeInfinity(e) || float.IsNegativeInfinity(a))
            {
                Assert.Equal(e, a);
            }
            else
            {
                Assert.True(Math.Abs(e - a) <= tolerance * Math.Max(1, Math.Abs(e)), $"lse[{i}]: {a} vs {e}");
            }
        }

        for (int i = 0; i < expected.Output.Length; i++)
        {
            Assert.True(Math.Abs(expected.Output[i] - actual.Output[i]) <= tolerance * magnitude, $"o[{i}]: {actual.Output[i]} vs {expected.Output[i]}");
        }
    }
}
