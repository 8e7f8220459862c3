namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Rows of one K/V allocation at consecutive positions, for the split-K decode kernel: device addresses of the first
/// row's K and V (kv head 0), how many rows, the first row's global position.
/// </summary>
internal readonly record struct DecodeRun(long K, long V, int Rows, int Pos0)
{
    /// <summary>
    /// The kernel's chunk table: each run cut into chunks of at most <paramref name="chunkKeys"/> rows, in run order,
    /// <see cref="DecodeKernel.ChunkLongs"/> longs each (K address, V address, rows, first position).
    /// </summary>
    public static long[] Chunks(IReadOnlyList<DecodeRun> runs, int chunkKeys, long rowBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkKeys, 1);
        int count = runs.Sum(r => (r.Rows + chunkKeys - 1) / chunkKeys);
        var table = new long[count * DecodeKernel.ChunkLongs];
        int at = 0;
        foreach (var run in runs)
        {
            for (int j = 0; j < run.Rows; j += chunkKeys)
            {
                table[at] = run.K + (j * rowBytes);
                table[at + 1] = run.V + (j * rowBytes);
                table[at + 2] = Math.Min(chunkKeys, run.Rows - j);
                table[at + 3] = run.Pos0 + j;
                at += DecodeKernel.ChunkLongs;
            }
        }

        return table;
    }
}
