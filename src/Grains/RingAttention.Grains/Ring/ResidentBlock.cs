using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Hosting;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Ring;

/// <summary>
/// A K/V block in device memory, shared by reference count: the shard computing on it holds one reference, and
/// forwarding it to a shard of the same silo hands over another through the <see cref="BlockStore"/> (no copy). The
/// device buffer goes back to the backend's pool when the last reference is released. The CRC-32 of its bytes,
/// computed once where the block was on the host, travels with it so that announcing it never needs the bytes.
/// </summary>
public sealed class ResidentBlock : IResidentBlockReference
{
    private readonly ComputeDevice _device;
    private int _references = 1;

    public ResidentBlock(ComputeDevice device, DeviceKeyValues handle, uint checksum)
    {
        _device = device;
        Handle = handle;
        Checksum = checksum;
        Bytes = 2L * handle.Rows * handle.Heads * handle.HeadDim * handle.Type.Size();
    }

    public DeviceKeyValues Handle { get; }

    public uint Checksum { get; }

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

    public Task<KeyValueBlock> DownloadAsync(CancellationToken ct) => _device.DownloadBlockAsync(Handle, ct);

    public Task CopyToHostAsync(long offset, Memory<byte> destination, CancellationToken ct) => _device.DownloadAsync(Handle, offset, destination, ct);

    public ComputeDevice? Device => _device;

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
