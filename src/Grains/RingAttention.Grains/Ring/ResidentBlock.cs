using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;

namespace RingAttention.Grains.Ring;

/// <summary>
/// The ring's one block kind: a K/V block in its backend's memory (a GPU's, or the host's for the CPU backend),
/// shared by reference count: the shard computing on it holds one reference, and forwarding it to a shard of the same
/// silo hands over another through the <see cref="BlockStore"/> (no copy). The memory goes back to the backend when
/// the last reference is released. The CRC-32 of its bytes (and of each data-plane chunk), computed once where the
/// bytes passed through the host, travels with it so that announcing or sending it never reads the bytes again.
/// </summary>
public sealed class ResidentBlock : IBlockReference
{
    private readonly ComputeDevice _device;
    private int _references = 1;

    /// <summary>A block whose bytes the caller has (a K/V block built on the host: tools, benchmarks, tests), uploaded and checksummed.</summary>
    public static ResidentBlock Upload(ComputeDevice device, KeyValueBlock block) =>
        new(device, device.Backend.UploadKeyValues(block), BlockChecksum.Compute(block));

    public ResidentBlock(ComputeDevice device, DeviceKeyValues handle, BlockCrcs crcs)
    {
        _device = device;
        Handle = handle;
        Checksum = crcs.Whole;
        ChunkChecksums = crcs.Chunks;
        Bytes = handle.DataBytes;
    }

    public DeviceKeyValues Handle { get; }

    public uint Checksum { get; }

    public uint[]? ChunkChecksums { get; }

    public Memory<byte>? HostMemory => Handle.HostMemory;

    /// <summary>Bytes of K then V (what the data plane sends), not the pooled buffer's size.</summary>
    public long Bytes { get; }

    public int References => Volatile.Read(ref _references);

    /// <summary>Takes another reference (for the store); the taker releases it.</summary>
    public ResidentBlock AddReference()
    {
        if (Interlocked.Increment(ref _references) <= 1)
        {
            throw new ObjectDisposedException(nameof(ResidentBlock), "the block was already released");
        }

        return this;
    }

    public Task CopyToHostAsync(long offset, Memory<byte> destination, CancellationToken ct) => _device.DownloadAsync(Handle, offset, destination, ct);

    public ComputeDevice Device => _device;

    public void Release()
    {
        int left = Interlocked.Decrement(ref _references);
        if (left == 0)
        {
            Handle.Dispose();
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("resident block released more often than referenced");
        }
    }
}
