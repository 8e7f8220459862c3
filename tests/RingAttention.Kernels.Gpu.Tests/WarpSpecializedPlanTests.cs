namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// How the warp-specialized Hopper kernel covers a query block (<see cref="WarpSpecializedPlan"/>): long blocks as they
/// were (one head a tile, all keys), short ones with GQA heads packed and keys split, within what the kernel takes
/// (a pack a power of two dividing the group, its tokens filling at most a tile; splits of at least a few key tiles,
/// no more tiles than multiprocessors unless one split each already has more). The kernel itself runs on the device
/// (bench/short-blocks.sh).
/// </summary>
public sealed class WarpSpecializedPlanTests
{
    private const int Rows = 128, Keys = 128, Sms = 132;

    [Theory]
    [InlineData(16384, 32, 4, 16384)]    // a ring step: thousands of tiles
    [InlineData(4096, 32, 8, 1048576)]   // a 4K append against 1M keys: 1,024 tiles
    [InlineData(200, 32, 4, 131072)]     // 2 m-blocks x 32 heads: rows past half a tile, too many tiles to split far
    public void LongBlocks_OneHeadATile(int queries, int heads, int group, long keys)
    {
        var plan = WarpSpecializedPlan.For(queries, heads, group, keys, Rows, Keys, Sms, fp8: false);
        Assert.Equal(1, plan.Pack);
        Assert.True(plan.Tiles(queries, heads, Rows) <= Math.Max(Sms, (long)((queries + Rows - 1) / Rows) * heads));
    }

    [Fact]
    public void SixteenQueries_Group4_PackFourHeadsAndSplitTheKeys()
    {
        // 16 tokens x 4 heads = 64 rows of a tile, 8 tiles, each split 16 ways: 128 of 132 multiprocessors.
        var plan = WarpSpecializedPlan.For(16, 32, 4, 131072, Rows, Keys, Sms, fp8: false);
        Assert.Equal(new WarpSpecializedPlan(4, 16), plan);
        Assert.Equal(128, plan.Tiles(16, 32, Rows));
    }

    [Fact]
    public void ThirtyTwoQueries_Group8_PackFourToFillTheTile()
    {
        // 128 / 32 = 4 packs fill the rows; the group of 8 would overflow them.
        var plan = WarpSpecializedPlan.For(32, 64, 8, 65536, Rows, Keys, Sms, fp8: false);
        Assert.Equal(4, plan.Pack);
        Assert.Equal(16, plan.Tiles(32, 64, Rows) / plan.Splits);
    }

    [Theory]
    [InlineData(6, 2)]
    [InlineData(12, 4)]
    [InlineData(5, 1)]
    [InlineData(1, 1)]
    public void Pack_IsThePowerOfTwoThatDividesTheGroup(int group, int pack) =>
        Assert.Equal(pack, WarpSpecializedPlan.For(8, 12 * group, group, 65536, Rows, Keys, Sms, fp8: false).Pack);

    [Fact]
    public void Fp8_NeverPacks() =>
        Assert.Equal(1, WarpSpecializedPlan.For(16, 32, 4, 65536, Rows, Keys, Sms, fp8: true).Pack);

    [Fact]
    public void FewKeys_NoSplit()
    {
        // 700 keys are 6 tiles: one split needs 4.
        Assert.Equal(1, WarpSpecializedPlan.For(16, 32, 4, 700, Rows, Keys, Sms, fp8: false).Splits);
        Assert.Equal(2, WarpSpecializedPlan.For(16, 32, 4, 1024, Rows, Keys, Sms, fp8: false).Splits);
    }

    [Fact]
    public void Sweep_StaysWithinWhatTheKernelTakes()
    {
        foreach (int queries in new[] { 1, 2, 3, 7, 16, 33, 64, 65, 100, 128, 129, 1000 })
        {
            foreach (var (heads, group) in new[] { (32, 1), (32, 4), (32, 8), (64, 16), (6, 6), (28, 7), (16, 16) })
            {
                foreach (long keys in new[] { 1L, 127, 512, 513, 4096, 131072, 1 << 20 })
                {
                    var plan = WarpSpecializedPlan.For(queries, heads, group, keys, Rows, Keys, Sms, fp8: false);
                    string at = $"{queries} queries, {heads}/{group}, {keys} keys: {plan}";
                    Assert.True(System.Numerics.BitOperations.IsPow2(plan.Pack) && group % plan.Pack == 0, at);
                    Assert.True(plan.Pack == 1 || plan.Pack * (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)queries) <= Rows, at);
                    Assert.InRange(plan.Splits, 1, Math.Max(1, (keys + Keys - 1) / Keys / WarpSpecializedPlan.MinKeyTilesPerSplit));
                    Assert.True(plan.Splits == 1 || plan.Tiles(queries, heads, Rows) <= Sms, at);
                }
            }
        }
    }
}
