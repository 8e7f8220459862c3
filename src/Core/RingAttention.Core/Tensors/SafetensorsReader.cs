using System.Buffers;
using Microsoft.Win32.SafeHandles;
using RingAttention.Attention;

namespace RingAttention.Tensors;

/// <summary>
/// Reads tensors of a safetensors file (layout: <see cref="SafetensorsHeader"/>) by byte range, so a shard
/// touches only its own rows: no whole-file load, no memory map. Reads use <see cref="RandomAccess"/>
/// (positional, no shared file pointer), so one reader may be used from several threads at once.
/// User-facing problems throw <see cref="SpecValidationException"/> naming <c>field</c> ("inputs") or
/// <c>field.tensor</c> ("inputs.q"); caller bugs (row range outside the tensor) throw <see cref="ArgumentException"/>.
/// </summary>
public sealed class SafetensorsReader : IDisposable
{
    /// <summary>Chunk size of the non-finite scan: bounds its memory whatever the tensor size.</summary>
    public const int ScanChunkBytes = 4 << 20;

    private readonly SafeFileHandle _handle;

    private SafetensorsReader(string path, SafeFileHandle handle, SafetensorsHeader header)
    {
        Path = path;
        _handle = handle;
        Header = header;
    }

    public string Path { get; }

    public SafetensorsHeader Header { get; }

    /// <summary>Opens <paramref name="path"/> and validates its header; errors name <paramref name="field"/>.</summary>
    public static SafetensorsReader Open(string path, string field = "inputs")
    {
        // Checked before open: opening a FIFO blocks until a writer appears (a silo thread hung on one forever), and a
        // directory or device is never a tensor file.
        switch (Files.FileIdentity.Of(path).Kind)
        {
            case Files.FileKind.Missing:
                throw new SpecValidationException(field, $"file '{path}' does not exist");
            case Files.FileKind.Directory:
                throw new SpecValidationException(field, $"'{path}' is a directory, not a safetensors file");
            case Files.FileKind.Other:
                throw new SpecValidationException(field, $"'{path}' is not a regular file (a FIFO, socket or device is never read)");
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SpecValidationException(field, $"file '{path}' does not exist");
        }
        catch (UnauthorizedAccessException)
        {
            throw new SpecValidationException(field, $"file '{path}' is not readable");
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or NotSupportedException)
        {
            throw new SpecValidationException(field, $"cannot open '{path}': {ex.Message}");
        }

        try
        {
            return new SafetensorsReader(path, handle, SafetensorsIO.ReadHeader(handle, path, field));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The tensor <paramref name="name"/>; throws <see cref="SpecValidationException"/> if absent or of an unsupported dtype.</summary>
    public TensorInfo GetTensor(string name) => Header.GetTensor(name);

    /// <summary>
    /// Reads rows [firstRow, firstRow + rowCount) of <paramref name="name"/> (a row = one index of dim 0,
    /// <see cref="TensorInfo.RowBytes"/> bytes) into the start of <paramref name="destination"/>; reads nothing else.
    /// </summary>
    public void ReadRows(string name, int firstRow, int rowCount, Span<byte> destination)
    {
        var tensor = GetTensor(name);
        CheckRows(tensor, firstRow, rowCount);
        long bytes = rowCount * tensor.RowBytes;
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, bytes, nameof(destination));
        SafetensorsIO.ReadExactly(_handle, Path, tensor.Offset + firstRow * tensor.RowBytes, destination[..(int)bytes]);
    }

    /// <summary>Reads elements [firstElement, firstElement + destination.Length / element size) of <paramref name="name"/>.</summary>
    public void ReadElements(string name, long firstElement, Span<byte> destination)
    {
        var tensor = GetTensor(name);
        int size = tensor.Type.Size();
        long count = destination.Length / size;
        if (firstElement < 0 || firstElement + count > tensor.ElementCount)
        {
            throw new ArgumentOutOfRangeException(nameof(firstElement),
                $"elements [{firstElement}, {firstElement + count}) are outside {tensor} ({tensor.ElementCount} elements)");
        }

        SafetensorsIO.ReadExactly(_handle, Path, tensor.Offset + firstElement * size, destination[..(int)(count * size)]);
    }

    /// <summary>The first NaN/±Inf of the whole tensor, or null. Streams in <see cref="ScanChunkBytes"/> chunks.</summary>
    public NonFiniteElement? FindFirstNonFinite(string name)
    {
        var tensor = GetTensor(name);
        return Scan(tensor, 0, tensor.ElementCount);
    }

    /// <summary>The first NaN/±Inf within rows [firstRow, firstRow + rowCount), or null; indices are tensor-global.</summary>
    public NonFiniteElement? FindFirstNonFinite(string name, int firstRow, int rowCount)
    {
        var tensor = GetTensor(name);
        CheckRows(tensor, firstRow, rowCount);
        return Scan(tensor, firstRow * tensor.RowElements, rowCount * tensor.RowElements);
    }

    public void Dispose() => _handle.Dispose();

    /// <summary>
    /// The first NaN/±Inf of elements [firstElement, firstElement + count): pieces of <see cref="ScanChunkBytes"/> read and
    /// scanned on several threads (positional reads of one handle), the lowest piece with a hit deciding. One thread
    /// read and scanned a 4096-row append's 48 MiB of q, k and v in 13 ms on nvidia-h200's host, a tenth of the append's
    /// attend (bench/NOTES.md v21).
    /// </summary>
    private NonFiniteElement? Scan(TensorInfo tensor, long firstElement, long count)
    {
        int size = tensor.Type.Size();
        long pieceElements = ScanChunkBytes / size;
        long pieces = Math.Max(1, (count + pieceElements - 1) / pieceElements);
        var hits = new NonFiniteElement?[pieces];
        Parallel.For(0, pieces, new ParallelOptions { MaxDegreeOfParallelism = Math.Min(8, Environment.ProcessorCount) }, (piece, state) =>
        {
            long start = piece * pieceElements;
            int n = (int)Math.Min(pieceElements, count - start);
            byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(n * size, size));
            try
            {
                var chunk = buffer.AsSpan(0, n * size);
                SafetensorsIO.ReadExactly(_handle, Path, tensor.Offset + ((firstElement + start) * size), chunk);
                int hit = NonFiniteScan.IndexOf(chunk, tensor.Type);
                if (hit >= 0)
                {
                    long flat = firstElement + start + hit;
                    hits[piece] = new NonFiniteElement(tensor.Name, flat, ShapeMath.Unravel(flat, tensor.Shape), ElementConvert.Read(chunk, tensor.Type, hit));
                    // Pieces after this one need not run; those before it still do (the lowest hit is the answer).
                    state.Break();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        });
        return hits.FirstOrDefault(h => h is not null);
    }

    private static void CheckRows(TensorInfo tensor, int firstRow, int rowCount)
    {
        if (tensor.Shape.Length == 0)
        {
            throw new ArgumentException($"{tensor} is a scalar and has no rows", nameof(tensor));
        }

        if (firstRow < 0 || rowCount < 0 || (long)firstRow + rowCount > tensor.Rows)
        {
            throw new ArgumentOutOfRangeException(nameof(firstRow),
                $"rows [{firstRow}, {(long)firstRow + rowCount}) are outside {tensor} ({tensor.Rows} rows)");
        }
    }
}
