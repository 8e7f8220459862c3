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
    public void DeviceSilos_AnyShardCount_Accepted()
    {
        // Device shards stream q, K/V and o in pieces: neither one shard's 8 GiB of q nor a 2 GiB K/V block is refused.
        foreach (int shards in new[] { 1, 2, 4, 8, 16 })
        {
            HostBufferLimits.Check(Million(shards), hostPathSilos: false);
        }
    }

    [Fact]
    public void HostSilo_QOfOneShardBeyondOneArray_RefusedWithMinimumShards()
    {
        var e = Assert.Throws<SpecValidationException>(() => HostBufferLimits.Check(Million(4), hostPathSilos: true));
        Assert.Equal("shards", e.Field);
        Assert.Contains("for its q", e.Reason);
        Assert.Contains("use at least 5 shards", e.Reason);
        HostBufferLimits.Check(Million(5), hostPathSilos: true);
    }

    [Fact]
    public void HostSilo_ReceivedKvBlockBeyondOneArray_Refused()
    {
        // MHA (Hkv = Hq = 32) at R = 5: q of a shard is 1.6 GiB but a received K||V block is 3.2 GiB.
        var mha = Million(5) with { KvHeads = 32 };
        var e = Assert.Throws<SpecValidationException>(() => HostBufferLimits.Check(mha, hostPathSilos: true));
        Assert.Contains("K/V block", e.Reason);
        Assert.Contains("use at least 9 shards", e.Reason);
        HostBufferLimits.Check(mha with { Shards = 9 }, hostPathSilos: true);
        HostBufferLimits.Check(Million(1) with { KvHeads = 32 }, hostPathSilos: false);
    }
}
