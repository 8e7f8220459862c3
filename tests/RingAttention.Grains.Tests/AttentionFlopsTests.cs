using RingAttention.Attention;

namespace RingAttention.Grains.Tests;

public sealed class AttentionFlopsTests
{
    [Theory]
    [InlineData(1, false, null)]
    [InlineData(37, false, null)]
    [InlineData(37, true, null)]
    [InlineData(37, true, 5)]
    [InlineData(37, false, 5)]
    [InlineData(4, true, 9)]
    [InlineData(4, false, 9)]
    public void VisiblePairs_EqualsBruteForceCount(int tokens, bool causal, int? window)
    {
        var mask = new AttentionMask(causal, window);
        int brute = 0;
        for (int q = 0; q < tokens; q++)
        {
            for (int k = 0; k < tokens; k++)
            {
                brute += mask.IsVisible(q, k) ? 1 : 0;
            }
        }

        Assert.Equal(brute, AttentionFlops.VisiblePairs(tokens, mask));
    }

    [Theory]
    [InlineData(0, 37, 37, true, null)]
    [InlineData(30, 7, 37, true, null)]
    [InlineData(50, 7, 37, true, 20)]
    [InlineData(10, 20, 37, false, 5)]
    [InlineData(5, 1, 37, false, null)]
    [InlineData(100, 3, 37, true, 4)]
    public void VisiblePairs_QueriesAtPositions_EqualsBruteForceCount(int first, int queries, int keys, bool causal, int? window)
    {
        var mask = new AttentionMask(causal, window);
        int brute = 0;
        for (int q = first; q < first + queries; q++)
        {
            for (int k = 0; k < keys; k++)
            {
                brute += mask.IsVisible(q, k) ? 1 : 0;
            }
        }

        Assert.Equal(brute, AttentionFlops.VisiblePairs(first, queries, keys, mask));
    }
}
