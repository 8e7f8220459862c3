using System.Collections.Concurrent;
using RingAttention.Kernels;

namespace RingAttention.Grains.DataPlane;

/// <summary>A K/V block waiting in its sender's silo for the next shard to take it.</summary>
/// <param name="JobId">Job the block belongs to (for cleanup).</param>
/// <param name="Attempt">Attempt of the ring that published it (a retry must not drop a newer attempt's blocks).</param>
/// <param name="Token">Job secret a remote peer must present to read the block.</param>
/// <param name="Checksum">CRC-32 of K's bytes then V's bytes.</param>
/// <param name="Block">The block's bytes on the host; null when it lives on the silo's device (<see cref="Resident"/>).</param>
public sealed record StoredBlock(string JobId, long Attempt, string Token, KeyValueBlock? Block, uint Checksum)
{
    /// <summary>
    /// A device-resident block (GPU silo): a same-silo taker gets the device buffer itself; the data plane downloads it
    /// once for a remote taker. Whoever takes the stored block owns this reference and must release it.
    /// </summary>
    public IResidentBlockReference? Resident { get; init; }

    public long Bytes => Block?.Bytes ?? Resident?.Bytes ?? 0;

    /// <summary>The block's bytes on the host: the stored ones, or a download of the device-resident block (released after).</summary>
    public async Task<KeyValueBlock> ToHostAsync(CancellationToken ct)
    {
        if (Block is not null)
        {
            return Block;
        }

        var resident = Resident ?? throw new InvalidOperationException("stored block has neither host bytes nor a device buffer");
        try
        {
            return await resident.DownloadAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            resident.Release();
        }
    }
}

/// <summary>One counted reference to a device-resident K/V block (see <c>ResidentBlock</c> in the ring).</summary>
public interface IResidentBlockReference
{
    long Bytes { get; }

    /// <summary>Copies the block to the host (one download).</summary>
    Task<KeyValueBlock> DownloadAsync(CancellationToken ct);

    /// <summary>Copies bytes [offset, offset + destination.Length) of K then V to the host (the data plane streams a block this way).</summary>
    Task CopyToHostAsync(long offset, Memory<byte> destination, CancellationToken ct);

    /// <summary>The block's device (the data plane's staging buffers are page-locked for it), or null.</summary>
    Hosting.ComputeDevice? Device { get; }

    /// <summary>Gives this reference back; the device memory is freed with the last one.</summary>
    void Release();
}

/// <summary>
/// Per-silo hand-off point of K/V blocks. Each block has exactly one consumer (the next shard of the ring), so
/// taking it removes it: memory stays bounded by the blocks in flight. A receiver on the same silo takes the object
/// itself (no serialization, no copy); a remote receiver gets its bytes through <see cref="DataPlaneServer"/>.
/// </summary>
public sealed class BlockStore
{
    private readonly ConcurrentDictionary<string, StoredBlock> _blocks = new();

    public int Count => _blocks.Count;

    public void Put(string key, StoredBlock block)
    {
        if (!_blocks.TryAdd(key, block))
        {
            throw new InvalidOperationException($"block '{key}' was already published");
        }
    }

    public bool TryTake(string key, out StoredBlock block) => _blocks.TryRemove(key, out block!);

    public bool TryPeek(string key, out StoredBlock block) => _blocks.TryGetValue(key, out block!);

    /// <summary>Drops every block of an attempt that failed or was cancelled (their consumers are gone).</summary>
    public int RemoveAttempt(string jobId, long attempt)
    {
        int removed = 0;
        foreach (var entry in _blocks)
        {
            if (entry.Value.JobId == jobId && entry.Value.Attempt == attempt && _blocks.TryRemove(entry.Key, out var dropped))
            {
                dropped.Resident?.Release();
                removed++;
            }
        }

        return removed;
    }
}
