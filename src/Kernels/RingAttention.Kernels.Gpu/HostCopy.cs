namespace RingAttention.Kernels.Gpu;

/// <summary>
/// A host memory copy of one staged piece (<see cref="IlgpuAttentionBackend.CopyFromDevice"/>): large pieces in parts on
/// several threads. A destination the process has not touched yet (a fresh result array) costs a page fault every
/// 4 KiB, and this copy, not the PCIe transfer, bounds a staged download (8 GB/s on nvidia-h200, bench/NOTES.md v20).
/// </summary>
internal static class HostCopy
{
    /// <summary>Pieces below this copy on the calling thread (a task hand-off costs more than the copy).</summary>
    private const int ParallelBytes = 1 << 20;

    /// <summary>Parts of a large piece: one a core, at most 8 (a 4 MiB piece in parts of 512 KiB or more).</summary>
    private static readonly int Parts = Math.Clamp(Environment.ProcessorCount, 1, 8);

    public static unsafe void Copy(byte* source, byte* destination, int bytes)
    {
        if (bytes < ParallelBytes || Parts == 1)
        {
            Buffer.MemoryCopy(source, destination, bytes, bytes);
            return;
        }

        nint from = (nint)source, to = (nint)destination;
        int part = (bytes + Parts - 1) / Parts;
        Parallel.For(0, Parts, i =>
        {
            int at = i * part;
            int length = Math.Min(part, bytes - at);
            if (length > 0)
            {
                Buffer.MemoryCopy((byte*)(from + at), (byte*)(to + at), length, length);
            }
        });
    }
}
