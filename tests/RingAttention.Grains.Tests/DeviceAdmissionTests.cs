using RingAttention.Attention;
using RingAttention.Grains.Jobs;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

public sealed class DeviceAdmissionTests
{
    private static readonly JobSpec Million = new()
    {
        Tokens = 1 << 20, Heads = 32, KvHeads = 8, HeadDim = 128, DType = ElementType.BF16, Causal = true, Shards = 8, SyntheticSeed = 1,
    };

    [Fact]
    public void DevicePerDevice_MillionTokensEightShards_CountsEveryResidentShard()
    {
        // 131072 rows per shard: q 1 GiB (bf16), o float32 2 GiB, lse 16 MiB, three K/V blocks of 0.5 GiB.
        long shard = (1L << 30) + (2L << 30) + (131072L * 32 * 4) + (3L << 29);

        Assert.Equal(8 * shard, JobMemory.DevicePerDevice(Million, 1)); // issue 4: all eight on one H100, 36.1 GiB
        Assert.Equal(4 * shard, JobMemory.DevicePerDevice(Million, 2));
        Assert.Equal(shard, JobMemory.DevicePerDevice(Million, 8));
    }

    [Fact]
    public void Check_ShardFitsEveryDevice_Passes() =>
        DeviceAdmission.Check(Million, [("S1", "cuda:0", 80L << 30), ("S2", "cuda:0", 24L << 30)]);

    [Fact]
    public void Check_ShardLargerThanSmallestDevice_RefusedWithNeededAndFree()
    {
        var error = Assert.Throws<SpecValidationException>(() =>
            DeviceAdmission.Check(Million with { Shards = 1 }, [("S1", "cuda:0", 80L << 30), ("S2", "cuda:1", 24L << 30)]));

        Assert.Equal("memory", error.Field);
        Assert.Contains("cuda:1 on silo S2 has 24 GiB", error.Reason, StringComparison.Ordinal);
        Assert.Contains("need about 28.13 GiB", error.Reason, StringComparison.Ordinal); // q 8 + o 16 + lse 0.13 + K/V 4

    }

    [Fact]
    public void Check_NoAccelerators_Passes() => DeviceAdmission.Check(Million with { Shards = 1 }, []);
}
