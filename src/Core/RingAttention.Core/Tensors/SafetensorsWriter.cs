using Microsoft.Win32.SafeHandles;

namespace RingAttention.Tensors;

/// <summary>
/// Creates a safetensors file (layout: <see cref="SafetensorsHeader"/>) whose header is fixed up front, then
/// takes tensor bytes in any order from any number of threads: o [T, Hq, D] by token rows
/// (<see cref="WriteRows"/>), lse [Hq, T] by (head, token range) (<see cref="WriteSegment"/>).
/// Crash safety: everything goes to <see cref="TempPath"/> (default <c>path + ".partial"</c>), pre-sized to the
/// final length; <see cref="Commit"/> flushes and renames it onto <see cref="Path"/>. <see cref="Abort"/>, or
/// <see cref="Dispose"/> without a commit, deletes the temp file, so a reader never sees a half-written file.
/// Writes are positional (<see cref="RandomAccess"/>), hence thread-safe; call Commit after they have all returned.
/// </summary>
public sealed class SafetensorsWriter : IDisposable
{
    private const int Open = 0, Committed = 1, Aborted = 2;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, TensorInfo> _tensors;
    private readonly SafetensorsCoverage _coverage = new();
    private readonly long _length;
    private int _state;

    private SafetensorsWriter(string path, string tempPath, SafeFileHandle handle, SafetensorsHeader header, long length)
    {
        Path = path;
        TempPath = tempPath;
        _handle = handle;
        Header = header;
        _length = length;
        _tensors = header.Names.ToDictionary(n => n, header.GetTensor, StringComparer.Ordinal);
    }

    /// <summary>The final path, written only by <see cref="Commit"/>.</summary>
    public string Path { get; }

    /// <summary>Where bytes go until the commit.</summary>
    public string TempPath { get; }

    /// <summary>The header as written, with every tensor's absolute offset.</summary>
    public SafetensorsHeader Header { get; }

    /// <summary>
    /// Lays out <paramref name="tensors"/> contiguously in the given order, writes the header and pre-sizes
    /// the temp file (an existing temp file is replaced).
    /// </summary>
    public static SafetensorsWriter Create(string path, IEnumerable<(string Name, ElementType Type, long[] Shape)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null, string? tempPath = null)
    {
        var list = tensors.ToList();
        byte[] headerBytes = SafetensorsHeaderWriter.Build(list, metadata, out long dataLength);
        long length = 8 + headerBytes.Length + dataLength;
        tempPath ??= path + ".partial";
        var handle = File.OpenHandle(tempPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        try
        {
            RandomAccess.SetLength(handle, length);
            Span<byte> prefix = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)headerBytes.Length);
            RandomAccess.Write(handle, prefix, 0);
            RandomAccess.Write(handle, headerBytes, 8);
            var header = SafetensorsHeader.Parse(headerBytes, length, path, "outputs");
            return new SafetensorsWriter(path, tempPath, handle, header, length);
        }
        catch
        {
            handle.Dispose();
            File.Delete(tempPath);
            throw;
        }
    }

    /// <summary>The layout of tensor <paramref name="name"/>; <see cref="ArgumentException"/> if it was not declared.</summary>
    public TensorInfo GetTensor(string name) => _tensors.TryGetValue(name, out var tensor)
        ? tensor
        : throw new ArgumentException($"tensor '{name}' is not in this file ({string.Join(", ", _tensors.Keys)})", nameof(name));

    /// <summary>Writes whole rows starting at <paramref name="firstRow"/>; <paramref name="data"/> holds a multiple of <see cref="TensorInfo.RowBytes"/>.</summary>
    public void WriteRows(string name, int firstRow, ReadOnlySpan<byte> data)
    {
        var tensor = GetTensor(name);
        if (tensor.RowBytes == 0 || data.Length % tensor.RowBytes != 0)
        {
            throw new ArgumentException($"{data.Length} bytes is not a whole number of {tensor.RowBytes}-byte rows of {tensor}", nameof(data));
        }

        long rows = data.Length / tensor.RowBytes;
        if (firstRow < 0 || firstRow + rows > tensor.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow), $"rows [{firstRow}, {firstRow + rows}) are outside {tensor} ({tensor.Rows} rows)");
        }

        WriteAt(tensor.Offset + firstRow * tensor.RowBytes, data);
    }

    /// <summary>
    /// Writes a run of elements inside one row, e.g. lse [Hq, T]: <paramref name="row"/> = head,
    /// <paramref name="firstColumn"/> = first token, <paramref name="data"/> = that head's values for a token range.
    /// </summary>
    public void WriteSegment(string name, int row, int firstColumn, ReadOnlySpan<byte> data)
    {
        var tensor = GetTensor(name);
        int size = tensor.Type.Size();
        long columns = data.Length / size;
        if (data.Length % size != 0 || row < 0 || row >= tensor.Rows || firstColumn < 0 || firstColumn + columns > tensor.RowElements)
        {
            throw new ArgumentOutOfRangeException(nameof(firstColumn),
                $"row {row}, elements [{firstColumn}, {firstColumn + columns}) ({data.Length} bytes) are outside {tensor}");
        }

        WriteAt(tensor.Offset + (row * tensor.RowElements + firstColumn) * size, data);
    }

    /// <summary>Writes elements from row-major flat index <paramref name="firstElement"/>.</summary>
    public void WriteElements(string name, long firstElement, ReadOnlySpan<byte> data)
    {
        var tensor = GetTensor(name);
        int size = tensor.Type.Size();
        if (data.Length % size != 0 || firstElement < 0 || firstElement * size + data.Length > tensor.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(firstElement),
                $"elements from {firstElement} ({data.Length} bytes) are outside {tensor} ({tensor.ByteLength} bytes)");
        }

        WriteAt(tensor.Offset + firstElement * size, data);
    }

    /// <summary>
    /// Flushes and renames the temp file onto <see cref="Path"/> (replacing it). Refuses, leaving the writer open,
    /// while any tensor byte is unwritten unless <paramref name="allowIncomplete"/> (holes then read as zeros).
    /// If the flush or rename fails the temp file is deleted and the error rethrown. <paramref name="flush"/> false
    /// renames a file whose bytes may still be only in the page cache: for a caller that flushes it later
    /// (<see cref="FlushToDisk"/>) before anything durable names it.
    /// </summary>
    public void Commit(bool allowIncomplete = false, bool flush = true)
    {
        ThrowIfNotOpen();
        if (!allowIncomplete && _coverage.FirstGap(Header.DataStart, _length) is var (start, end))
        {
            var tensor = _tensors.Values.First(t => t.Offset + t.ByteLength > start);
            throw new InvalidOperationException(
                $"cannot commit '{Path}': tensor '{tensor.Name}' bytes [{start - tensor.Offset}, {Math.Min(end, tensor.Offset + tensor.ByteLength) - tensor.Offset}) were never written");
        }

        if (Interlocked.CompareExchange(ref _state, Committed, Open) != Open)
        {
            ThrowIfNotOpen();
        }

        try
        {
            if (flush)
            {
                RandomAccess.FlushToDisk(_handle);
            }

            _handle.Dispose();
            File.Move(TempPath, Path, overwrite: true);
        }
        catch
        {
            _handle.Dispose();
            File.Delete(TempPath);
            throw;
        }
    }

    /// <summary>
    /// Flushes the bytes written so far to the disk while the writer stays open: a writer whose pieces arrive over time
    /// flushes each one as the next is computed, so that the commit's flush has only the last left. Safe beside
    /// concurrent writes (they may or may not be in this flush); not beside <see cref="Commit"/> or <see cref="Abort"/>.
    /// </summary>
    public void Flush()
    {
        ThrowIfNotOpen();
        RandomAccess.FlushToDisk(_handle);
    }

    /// <summary>Flushes a committed file's bytes to the disk (after a <see cref="Commit"/> without flush).</summary>
    public static void FlushToDisk(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        RandomAccess.FlushToDisk(handle);
    }

    /// <summary>Discards the temp file; no-op after a commit or a previous abort.</summary>
    public void Abort()
    {
        if (Interlocked.CompareExchange(ref _state, Aborted, Open) == Open)
        {
            _handle.Dispose();
            File.Delete(TempPath);
        }
    }

    /// <summary>Aborts unless committed.</summary>
    public void Dispose() => Abort();

    private void WriteAt(long offset, ReadOnlySpan<byte> data)
    {
        ThrowIfNotOpen();
        RandomAccess.Write(_handle, data, offset);
        _coverage.Add(offset, offset + data.Length);
    }

    private void ThrowIfNotOpen()
    {
        int state = Volatile.Read(ref _state);
        if (state != Open)
        {
            throw new InvalidOperationException($"writer for '{Path}' is already {(state == Committed ? "committed" : "aborted")}");
        }
    }
}
