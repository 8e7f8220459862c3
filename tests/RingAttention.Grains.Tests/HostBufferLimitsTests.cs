using RingAttention.Attention;
using RingAttention.Grains.Jobs;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

/// <summary>Which buffers must fit one host array depends on where shards run: q on CPU silos, K/V only across silos.</summary>
public sealed class HostBufferLimitsTests
{
    /// <summary>Issue 4's job: 1M tokens, Hq 32, Hkv 8, D 128, bf16 (q 8 GiB, K and V 2 GiB each).</summary>
    private static JobSpec Million(int shards) => new()
    {
        SyntheticSeed = 1,
        OutputPath = "/tmp/o.safetensors",
        Tokens = 1 << 20,
        Heads = 32,
        KvHeads = 8,
        HeadDim = 128,
        DType = ElementType.BF16,
        Causal = true,
        Shards = shards,
    };

    [Fact]
    public void OneDeviceSilo_AnyShardCount_Accepted()
    {
        foreach (int shards in new[] { 1, 2, 4, 8, 16 })
        {
            HostBufferLimits.Check(Million(shards), hostPathSilos: false, deviceSilos: 1);
        }
    }

    [Fact]
    public void HostSilo_QOfOneShardBeyondOneArray_RefusedWithMinimumShards()
    {
        var e = Assert.Throws<SpecValidationException>(() => HostBufferLimits.Check(Million(4), hostPathSilos: true, deviceSilos: 0));
        Assert.Equal("shards", e.Field);
        Assert.Contains("for its q", e.Reason);
        Assert.Contains("use at least 5 shards", e.Reason);
        HostBufferLimits.Check(Million(5), hostPathSilos: true, deviceSilos: 0);
    }

    [Fact]
    public void SeveralDeviceSilos_KvBlockBeyondOneArray_Refused()
    {
        // R = 2: a K/V block is 512K tokens x 8 heads x 128 x 2 B x 2 = 2 GiB, one byte over what an array holds.
        var e = Assert.Throws<SpecValidationException>(() => HostBufferLimits.Check(Million(2), hostPathSilos: false, deviceSilos: 2));
        Assert.Contains("K/V block", e.Reason);
        Assert.Contains("use at least 3 shards", e.Reason);
        HostBufferLimits.Check(Million(3), hostPathSilos: false, deviceSilos: 2);
        HostBufferLimits.Check(Million(1), hostPathSilos: false, deviceSilos: 2); // one shard: nothing crosses silos
    }
}
