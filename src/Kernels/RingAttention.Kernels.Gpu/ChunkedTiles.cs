using System.Runtime.InteropServices;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The split-K work of <see cref="IlgpuAttentionBackend"/>'s decode path (a few query rows against many runs of K/V: a
/// session's pages, several shards' in one launch) on Hopper's warp-specialized kernel instead of the decode kernels:
/// its short variant with GQA heads packed into a tile (<see cref="WarpSpecializedPlan"/>), where split s takes chunk s
/// of a table in device memory. Each chunk has its own K and V tensor maps, ending at the chunk's last row (so the
/// rows past it arrive as zeros, never a neighbour's stale page), its key count and first position; its partial
/// (o, lse) goes where the decode kernels' would (<see cref="DecodeKernel.PartialIndex"/>), for the same merges.
/// Why: at 64 query vectors a kv head (16 rows at GQA 4) the decode kernels re-read every key once per 16 vectors
/// and run at about flash's speed, while the tiled kernel reads each key once for all of them (bench/NOTES.md v22).
/// </summary>
internal sealed unsafe class ChunkedTiles(WarpSpecializedKernel kernel, WarpSpecializedVariant variant, int multiprocessors)
{
    /// <summary>A chunk's entry: K map address, V map address (8 bytes each), first row, rows, first position, unused.</summary>
    public const int EntryBytes = 32;

    /// <summary>A chunk's two tensor maps.</summary>
    public const int MapBytes = 2 * TensorMap.Bytes;

    /// <summary>Table bytes a chunk takes: its maps (at the table's start, 64-byte aligned) and its entry (after all maps).</summary>
    public const int BytesPerChunk = MapBytes + EntryBytes;

    public WarpSpecializedVariant Variant => variant;

    /// <summary>
    /// Keys of each chunk of a target of <paramref name="keys"/> keys: as many splits as the planned kernel would give
    /// those keys alone (so a target's chunks, and its result, do not depend on who shares the launch), whole key tiles.
    /// </summary>
    public int ChunkKeys(FlashParams p, long keys) => ChunkKeys(variant, multiprocessors, p, keys);

    /// <summary><see cref="ChunkKeys(FlashParams, long)"/> of <paramref name="variant"/> on <paramref name="multiprocessors"/> SMs.</summary>
    public static int ChunkKeys(WarpSpecializedVariant variant, int multiprocessors, FlashParams p, long keys)
    {
        var plan = WarpSpecializedPlan.For(p.QCount, p.Heads, p.Group, keys, variant.BlockRows, variant.BlockKeys, multiprocessors, fp8: false);
        long perSplit = (keys + plan.Splits - 1) / plan.Splits;
        long tiles = (perSplit + variant.BlockKeys - 1) / variant.BlockKeys;
        return (int)Math.Min(tiles * variant.BlockKeys, int.MaxValue / variant.BlockKeys * variant.BlockKeys);
    }

    /// <summary>
    /// Writes the device table of <paramref name="decodeTable"/>'s chunks (<see cref="DecodeRun.Chunks"/>' layout) into
    /// <paramref name="table"/>, which will be copied to <paramref name="deviceAddress"/> (64-byte aligned): every
    /// chunk's maps, then every chunk's entry.
    /// </summary>
    public void Write(ReadOnlySpan<long> decodeTable, Span<byte> table, ulong deviceAddress, int kvHeads, int headDim)
    {
        int chunks = decodeTable.Length / DecodeKernel.ChunkLongs;
        if (table.Length < (long)chunks * BytesPerChunk || deviceAddress % 64 != 0)
        {
            throw new ArgumentException($"a table of {chunks} chunks takes {(long)chunks * BytesPerChunk} bytes at a 64-byte boundary", nameof(table));
        }

        int size = variant.Type.Size();
        byte* map = (byte*)NativeMemory.AlignedAlloc(TensorMap.Bytes, 64);
        try
        {
            for (int c = 0; c < chunks; c++)
            {
                var at = decodeTable.Slice(c * DecodeKernel.ChunkLongs, DecodeKernel.ChunkLongs);
                for (int kv = 0; kv < 2; kv++)
                {
                    TensorMap.EncodeRows(map, (ulong)at[kv], size, kvHeads, headDim, at[2], variant.BlockKeys);
                    new ReadOnlySpan<byte>(map, TensorMap.Bytes).CopyTo(table.Slice((c * MapBytes) + (kv * TensorMap.Bytes), TensorMap.Bytes));
                }

                var entry = table.Slice((chunks * MapBytes) + (c * EntryBytes), EntryBytes);
                ulong maps = deviceAddress + (ulong)((long)c * MapBytes);
                MemoryMarshal.Write(entry, maps);
                MemoryMarshal.Write(entry[8..], maps + TensorMap.Bytes);
                MemoryMarshal.Write(entry[16..], 0);                 // first row: the maps start at the chunk
                MemoryMarshal.Write(entry[20..], (int)at[2]);
                MemoryMarshal.Write(entry[24..], (int)at[3]);
                MemoryMarshal.Write(entry[28..], 0);
            }
        }
        finally
        {
            NativeMemory.AlignedFree(map);
        }
    }

    /// <summary>
    /// Splits over <paramref name="count"/> chunks whose entries start at <paramref name="entries"/> (device address),
    /// p's query rows (p.Merge 0), partials of chunk s at s of <see cref="DecodeKernel.PartialIndex"/>. Not synchronised.
    /// </summary>
    public void Launch(FlashParams p, ulong entries, int count, ulong partialO, ulong partialLse)
    {
        p.Merge = 0;
        p.HeavyFirst = 0; // every tile a chunk's worth: the persistent grid
        var plan = new WarpSpecializedPlan(WarpSpecializedPlan.PackFor(p.QCount, p.Group, variant.BlockRows, fp8: false), count);
        kernel.Launch(variant, p, partialO, partialLse, plan, chunks: entries);
    }
}
