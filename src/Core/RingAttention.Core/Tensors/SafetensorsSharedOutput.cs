using Microsoft.Win32.SafeHandles;

namespace RingAttention.Tensors;

/// <summary>
/// A safetensors output written by several processes at once (one per shard, on any silo of a shared file system):
/// one party <see cref="Create"/>s the temp file with its final header and size, every shard
/// <see cref="OpenForWrite"/>s it and writes its own byte ranges, and the party that saw every shard finish
/// <see cref="Commit"/>s (rename onto the final path) or <see cref="Abort"/>s. <see cref="SafetensorsWriter"/> is
/// the single-process form of the same layout.
/// </summary>
public sealed class SafetensorsSharedOutput : IDisposable
{
    private readonly SafeFileHandle _handle;

    private SafetensorsSharedOutput(SafeFileHandle handle, SafetensorsHeader header)
    {
        _handle = handle;
        Header = header;
    }

    public SafetensorsHeader Header { get; }

    /// <summary>
    /// Writes the header of <paramref name="tensors"/> (laid out in order) to <paramref name="tempPath"/> and pre-sizes
    /// it. Returns the open handle: the creator holds it (a shared lock) while the output is in progress, which is how
    /// <see cref="RemoveIfAbandoned"/> tells a live temp file from one whose process died.
    /// </summary>
    /// <param name="metadata">The header's "__metadata__" (string pairs), or null for none.</param>
    public static SafeFileHandle Create(string tempPath, IEnumerable<(string Name, ElementType Type, long[] Shape)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        byte[] header = SafetensorsHeaderWriter.Build(tensors.ToList(), metadata, out long dataLength);
        // CreateNew: a temp name is never reused, so a file already there is someone else's and stays untouched.
        var handle = File.OpenHandle(tempPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        try
        {
            RandomAccess.SetLength(handle, 8 + header.Length + dataLength);
            Span<byte> prefix = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
            RandomAccess.Write(handle, prefix, 0);
            RandomAccess.Write(handle, header, 8);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Removes <paramref name="tempPath"/> if no process holds it open and returns true; false if one does. .NET on
    /// Unix takes a shared advisory lock (flock) for every handle opened with sharing, so an exclusive, non-blocking open
    /// succeeds only when the creator and every writer are gone (a killed process's locks die with it).
    /// </summary>
    public static bool RemoveIfAbandoned(string tempPath)
    {
        try
        {
            using var probe = File.OpenHandle(tempPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            File.Delete(tempPath);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Opens a file made by <see cref="Create"/> for positional writes, shared with the other writers.</summary>
    public static SafetensorsSharedOutput OpenForWrite(string tempPath)
    {
        var handle = File.OpenHandle(tempPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            return new SafetensorsSharedOutput(handle, SafetensorsIO.ReadHeader(handle, tempPath, "output"));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Writes <paramref name="data"/> at element <paramref name="firstElement"/> of tensor <paramref name="name"/>.</summary>
    public void WriteElements(string name, long firstElement, ReadOnlySpan<byte> data)
    {
        var tensor = Header.GetTensor(name);
        long offset = firstElement * tensor.Type.Size();
        if (offset < 0 || offset + data.Length > tensor.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(firstElement), $"{data.Length} bytes at element {firstElement} overrun {tensor}");
        }

        RandomAccess.Write(_handle, data, tensor.Offset + offset);
    }

    public void Flush() => RandomAccess.FlushToDisk(_handle);

    public void Dispose() => _handle.Dispose();

    /// <summary>Makes the output visible under its final name, replacing an older file of that name.</summary>
    public static void Commit(string tempPath, string path) => File.Move(tempPath, path, overwrite: true);

    /// <summary>Removes the temp file; no output appears.</summary>
    public static void Abort(string tempPath)
    {
        try
        {
            File.Delete(tempPath);
        }
        catch (IOException)
        {
            // Already gone or still held on a platform that forbids it; nothing a caller could do better.
        }
    }
}
