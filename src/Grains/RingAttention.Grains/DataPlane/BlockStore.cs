using System.Collections.Concurrent;

namespace RingAttention.Grains.DataPlane;

/// <summary>A K/V block waiting in its sender's silo for the next shard to take it.</summary>
/// <param name="JobId">Job the block belongs to (for cleanup).</param>
/// <param name="Attempt">Attempt of the ring that published it (a retry must not drop a newer attempt's blocks).</param>
/// <param name="Token">Job secret a remote peer must present to read the block.</param>
/// <param name="Block">
/// One counted reference to the block in its backend's memory: a same-silo taker gets the block itself; the data plane
/// sends it to a remote taker. Whoever takes the stored block owns this reference and must release it.
/// </param>
public sealed record StoredBlock(string JobId, long Attempt, string Token, IBlockReference Block)
{
    public long Bytes => Block.Bytes;

    public uint Checksum => Block.Checksum;
}

/// <summary>One counted reference to a K/V block in a backend's memory (see <c>ResidentBlock</c> in the ring).</summary>
public interface IBlockReference
{
    /// <summary>Bytes of K then V (what the data plane sends).</summary>
    long Bytes { get; }

    /// <summary>CRC-32 of K's bytes then V's.</summary>
    uint Checksum { get; }

    /// <summary>CRC-32 of each data-plane chunk of K then V, when known (the sender then reads the block only once).</summary>
    uint[]? ChunkChecksums { get; }

    /// <summary>K then V when they are in host memory (the CPU backend): sent straight from there.</summary>
    Memory<byte>? HostMemory { get; }

    /// <summary>Copies bytes [offset, offset + destination.Length) of K then V to the host (a device block streams this way).</summary>
    Task CopyToHostAsync(long offset, Memory<byte> destination, CancellationToken ct);

    /// <summary>The block's device (the data plane's staging buffers are page-locked for it).</summary>
    Devices.ComputeDevice Device { get; }

    /// <summary>Gives this reference back; the memory is freed with the last one.</summary>
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
                dropped.Block.Release();
                removed++;
            }
        }

        return removed;
    }
}
