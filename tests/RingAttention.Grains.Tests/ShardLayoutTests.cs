using RingAttention.Attention;
using RingAttention.Grains.Ring;

namespace RingAttention.Grains.Tests;

public sealed class ShardLayoutTests
{
    public static TheoryData<ShardLayout, int, int> Cases()
    {
        var data = new TheoryData<ShardLayout, int, int>();
        foreach (var layout in new[] { ShardLayout.Contiguous, ShardLayout.Zigzag })
        {
            foreach (var (tokens, shards) in new[] { (1, 1), (7, 7), (7, 3), (203, 8), (4099, 5), (16, 8), (9, 8) })
            {
                data.Add(layout, tokens, shards);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plan_AnyTokenCount_CoversEveryTokenOnceAndNoShardIsEmpty(ShardLayout layout, int tokens, int shards)
    {
        var plan = ShardLayouts.Plan(layout, tokens, shards);

        Assert.Equal(shards, plan.Count);
        Assert.All(plan, spans => Assert.True(spans.Sum(s => s.Count) > 0));
        var covered = plan.SelectMany(spans => spans).SelectMany(s => Enumerable.Range(s.Start, s.Count)).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, tokens), covered);
    }

    [Fact]
    public void Zigzag_Causal_GivesEveryShardNearlyTheSameWork()
    {
        const int Tokens = 16_000, Shards = 8;
        var zigzag = ShardLayouts.Plan(ShardLayout.Zigzag, Tokens, Shards).Select(CausalPairs).ToArray();
        var contiguous = ShardLayouts.Plan(ShardLayout.Contiguous, Tokens, Shards).Select(CausalPairs).ToArray();

        Assert.True(zigzag.Max() / zigzag.Min() < 1.01, $"zigzag imbalance {zigzag.Max() / zigzag.Min():0.000}");
        Assert.True(contiguous.Max() / contiguous.Min() > 10, "contiguous should be unbalanced under a causal mask");
    }

    [Fact]
    public void Plan_MoreShardsThanTokens_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardLayouts.Plan(ShardLayout.Zigzag, 3, 4));

    /// <summary>Causal (query, key) pairs of a shard's queries against the whole sequence.</summary>
    private static double CausalPairs(IReadOnlyList<TokenSpan> spans) => spans.Sum(s => Enumerable.Range(s.Start, s.Count).Sum(q => (double)q + 1));
}
