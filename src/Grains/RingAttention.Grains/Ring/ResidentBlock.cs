using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Transfer;
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

    /// <summary>
    /// This block on <paramref name="target"/>, another device of the silo, for the taker of this reference (which is
    /// released): copied device to device on the target's copy lane where the two devices reach each other (peer
    /// access), else staged through host memory in pieces of <paramref name="pieceBytes"/> (the pump: the download of
    /// piece j+1 from this device overlaps the upload of piece j to the target). The CRCs travel with the copy.
    /// </summary>
    public async Task<(ResidentBlock Block, bool Staged)> CopyToAsync(ComputeDevice target, int pieceBytes, CancellationToken ct)
    {
        try
        {
            var handle = await target.AllocateKeyValuesAsync(Handle.Type, Handle.Heads, Handle.HeadDim, Handle.Spans, ct).ConfigureAwait(false);
            try
            {
                bool staged = !await target.TryCopyFromPeerAsync(handle, Handle, ct).ConfigureAwait(false);
                if (staged)
                {
                    int pieceLength = (int)Math.Min(pieceBytes, Math.Max(1, Bytes));
                    await DoubleBufferPump.RunAsync<byte>(target, Bytes, pieceLength,
                        async (piece, buffer) =>
                        {
                            long start = (long)piece * pieceLength;
                            int length = (int)Math.Clamp(Bytes - start, 0, buffer.Length);
                            if (length > 0)
                            {
                                await CopyToHostAsync(start, buffer[..length], ct).ConfigureAwait(false);
                            }

                            return length;
                        },
                        (piece, bytes) => target.UploadAsync(handle, (long)piece * pieceLength, bytes, ct)).ConfigureAwait(false);
                }

                return (new ResidentBlock(target, handle, new BlockCrcs(Checksum, ChunkChecksums ?? [])), staged);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        finally
        {
            Release();
        }
    }

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
