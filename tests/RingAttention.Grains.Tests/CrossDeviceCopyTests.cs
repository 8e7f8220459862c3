using RingAttention.Attention;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Ring;
using RingAttention.Kernels;
using RingAttention.Kernels.Cpu;
using RingAttention.Kernels.Gpu;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

/// <summary>
/// A K/V block handed from one device of a silo to another: device to device where the two reach each other (peer
/// access), staged through host memory in pieces where they do not; the bytes and CRCs arrive intact either way and
/// the source's reference is released.
/// </summary>
public sealed class CrossDeviceCopyTests
{
    private static KeyValueBlock Block(int rows, int seed)
    {
        var spans = new[] { new TokenSpan(3, rows) };
        byte[] keys = new byte[rows * 2 * 16 * 2];
        byte[] values = new byte[keys.Length];
        new Random(seed).NextBytes(keys);
        new Random(seed + 1).NextBytes(values);
        return new KeyValueBlock(new TensorRows(ElementType.BF16, 2, 16, spans, keys), new TensorRows(ElementType.BF16, 2, 16, spans, values));
    }

    public static TheoryData<string, bool> Pairs() => new()
    {
        { "two accelerators of one context (peer access)", false },
        { "two accelerators of separate contexts (no peer access)", true },
        { "CPU backend to accelerator (host memory read directly)", false },
        { "accelerator to CPU backend (staged)", true },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public async Task CopyTo_AnotherDevice_ArrivesIntact_StagedOnlyWithoutPeerAccess(string pair, bool staged)
    {
        var (from, to) = Devices(pair);
        using var source = from;
        using var target = to;
        var block = Block(rows: 1000, seed: 3); // 128,000 bytes: several 48 KiB staging pieces
        var original = ResidentBlock.Upload(source, block);
        uint checksum = original.Checksum;

        var (copy, wasStaged) = await original.CopyToAsync(target, pieceBytes: 48 << 10, CancellationToken.None);

        Assert.Equal(staged, wasStaged);
        Assert.Same(target, copy.Device);
        Assert.Equal(checksum, copy.Checksum);
        Assert.Equal(0, original.References); // the source reference was given up
        var back = target.Backend.DownloadKeyValues(copy.Handle);
        Assert.Equal(block.Keys.Data.ToArray(), back.Keys.Data.ToArray());
        Assert.Equal(block.Values.Data.ToArray(), back.Values.Data.ToArray());
        copy.Release();
        Assert.Equal(0, target.ResidentBytes);
        Assert.Equal(0, source.ResidentBytes);
    }

    private static (ComputeDevice From, ComputeDevice To) Devices(string pair)
    {
        if (pair.StartsWith("two accelerators of one", StringComparison.Ordinal))
        {
            var set = PortableAttentionBackend.CreateCpuSet(2);
            return (new ComputeDevice(set[0]), new ComputeDevice(set[1]));
        }

        if (pair.StartsWith("two accelerators of separate", StringComparison.Ordinal))
        {
            return (new ComputeDevice(PortableAttentionBackend.CreateCpu()), new ComputeDevice(PortableAttentionBackend.CreateCpu()));
        }

        return pair.StartsWith("CPU backend", StringComparison.Ordinal)
            ? (new ComputeDevice(new CpuAttentionBackend()), new ComputeDevice(PortableAttentionBackend.CreateCpu()))
            : (new ComputeDevice(PortableAttentionBackend.CreateCpu()), new ComputeDevice(new CpuAttentionBackend()));
    }
}
