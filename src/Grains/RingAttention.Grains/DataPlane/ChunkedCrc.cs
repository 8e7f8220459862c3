using System.IO.Hashing;

namespace RingAttention.Grains.DataPlane;

/// <summary>
/// A block's CRC-32 and the CRC-32 of each of its data-plane chunks (<see cref="DataPlaneProtocol.ChunkSize"/> bytes, the
/// last shorter; empty when unknown).
/// </summary>
public sealed record BlockCrcs(uint Whole, uint[] Chunks);

/// <summary>
/// CRCs of a byte stream fed in pieces of any size, cut into data-plane chunks: computed once where a block's bytes pass
/// through the host (read from the file, or received and verified), so that the data plane sends the chunk CRCs
/// without reading the block again. The whole CRC is combined from the chunk CRCs (<see cref="BlockChecksum.Combine"/>).
/// </summary>
public sealed class ChunkedCrc
{
    private readonly List<uint> _chunks = [];
    private readonly Crc32 _current = new();
    private int _inCurrent;
    private uint _whole;
    private bool _shortSeen;
    private bool _reusable = true;

    public void Append(ReadOnlySpan<byte> bytes)
    {
        while (bytes.Length > 0)
        {
            int take = Math.Min(bytes.Length, DataPlaneProtocol.ChunkSize - _inCurrent);
            _current.Append(bytes[..take]);
            _inCurrent += take;
            bytes = bytes[take..];
            if (_inCurrent == DataPlaneProtocol.ChunkSize)
            {
                CloseChunk();
            }
        }
    }

    /// <summary>
    /// Adds a chunk whose CRC is already known (verified on arrival). A sender that cut its chunks differently (a short
    /// chunk before the last) still gives the right whole CRC, but no chunk CRCs to reuse.
    /// </summary>
    public void AppendChunk(uint crc, int length)
    {
        if (_inCurrent != 0)
        {
            throw new InvalidOperationException("a whole chunk cannot follow a partial one");
        }

        _reusable &= !_shortSeen;
        _shortSeen |= length != DataPlaneProtocol.ChunkSize;
        _chunks.Add(crc);
        _whole = BlockChecksum.Combine(_whole, crc, length);
    }

    public uint Whole => _inCurrent == 0 ? _whole : throw new InvalidOperationException("the last chunk is still open: call Finish");

    public BlockCrcs Finish()
    {
        if (_inCurrent > 0)
        {
            CloseChunk();
        }

        return new BlockCrcs(_whole, _reusable ? [.. _chunks] : []);
    }

    private void CloseChunk()
    {
        uint crc = _current.GetCurrentHashAsUInt32();
        _current.Reset();
        _chunks.Add(crc);
        _whole = BlockChecksum.Combine(_whole, crc, _inCurrent);
        _inCurrent = 0;
    }
}
