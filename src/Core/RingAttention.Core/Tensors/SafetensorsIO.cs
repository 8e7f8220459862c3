using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace RingAttention.Tensors;

/// <summary>Positional file I/O shared by the safetensors reader and writer.</summary>
internal static class SafetensorsIO
{
    /// <summary>Fills <paramref name="destination"/> from <paramref name="offset"/>; a short file is an <see cref="IOException"/>.</summary>
    public static void ReadExactly(SafeFileHandle handle, string path, long offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int read = RandomAccess.Read(handle, destination, offset);
            if (read == 0)
            {
                throw new IOException($"'{path}' ended at offset {offset}: was it truncated while open?");
            }

            destination = destination[read..];
            offset += read;
        }
    }

    /// <summary>
    /// Reads the 8-byte length and the JSON header, rejecting absurd lengths before allocating. Messages never repeat
    /// the length: for a file that is not safetensors those 8 bytes are its content (a password file's first 8 characters).
    /// </summary>
    public static SafetensorsHeader ReadHeader(SafeFileHandle handle, string path, string field)
    {
        long fileLength = RandomAccess.GetLength(handle);
        Span<byte> prefix = stackalloc byte[8];
        if (fileLength < 8)
        {
            throw SafetensorsHeaderParser.NotSafetensors(field, path,
                $"it is {fileLength} bytes long; a safetensors file starts with an 8-byte header length");
        }

        ReadExactly(handle, path, 0, prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > SafetensorsHeader.MaxHeaderBytes)
        {
            throw SafetensorsHeaderParser.NotSafetensors(field, path,
                $"its first 8 bytes are not a header length of at most {SafetensorsHeader.MaxHeaderBytes} bytes");
        }

        if (8 + (long)headerLength > fileLength)
        {
            throw SafetensorsHeaderParser.NotSafetensors(field, path,
                "its header length runs past the end of the file");
        }

        var json = new byte[headerLength];
        ReadExactly(handle, path, 8, json);
        return SafetensorsHeader.Parse(json, fileLength, path, field);
    }
}
