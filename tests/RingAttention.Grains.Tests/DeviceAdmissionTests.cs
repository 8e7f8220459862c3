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
    public void DeviceWorkingSet_MillionTokensEightShards_CountsOneShardsBuffers()
    {
        // 131072 rows: q 1 GiB (bf16), k+v 0.5 GiB, o float32 2 GiB, lse 16 MiB. Unsharded: 8 + 4 + 16 GiB + 128 MiB = 28.13 GiB.
        long expected = (1L << 30) + (1L << 29) + (2L << 30) + (131072L * 32 * 4);

        Assert.Equal(expected, JobMemory.DeviceWorkingSet(Million));
    }

    [Fact]
    public void Check_ShardFitsEveryDevice_Passes() =>
        DeviceAdmission.Check(Million, [("S1", "cuda:0", 80L << 30), ("S2", "cuda:0", 16L << 30)]);

    [Fact]
    public void Check_ShardLargerThanSmallestDevice_RefusedWithNeededAndFree()
    {
        var error = Assert.Throws<SpecValidationException>(() =>
            DeviceAdmission.Check(Million with { Shards = 1 }, [("S1", "cuda:0", 80L << 30), ("S2", "cuda:1", 24L << 30)]));

        Assert.Equal("memory", error.Field);
        Assert.Contains("cuda:1 on silo S2 has 24 GiB", error.Reason, StringComparison.Ordinal);
        Assert.Contains("needs about 28.13 GiB", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_NoAccelerators_Passes() => DeviceAdmission.Check(Million with { Shards = 1 }, []);
}
