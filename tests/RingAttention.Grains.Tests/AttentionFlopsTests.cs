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
}
