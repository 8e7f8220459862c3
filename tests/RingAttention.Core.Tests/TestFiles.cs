using System.Buffers.Binary;
using System.Text;
using RingAttention.Tensors;

namespace RingAttention.Tests;

/// <summary>A temporary directory deleted with everything in it when the test ends.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => System.IO.Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ra-tests-" + Guid.NewGuid().ToString("N"));

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose() => System.IO.Directory.Delete(Path, recursive: true);
}

/// <summary>Builds files byte by byte, the way python safetensors lays them out, so tests can also break them.</summary>
internal static class RawSafetensors
{
    /// <summary>u64 LE header length, the JSON padded with spaces to a multiple of 8 (when asked), then the data.</summary>
    public static byte[] Build(string json, ReadOnlySpan<byte> data, bool pad = true)
    {
        var header = Encoding.UTF8.GetBytes(json).ToList();
        while (pad && header.Count % 8 != 0)
        {
            header.Add((byte)' ');
        }

        var file = new byte[8 + header.Count + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Count);
        header.CopyTo(file, 8);
        data.CopyTo(file.AsSpan(8 + header.Count));
        return file;
    }

    /// <summary>Random values N(0,1)-ish from a fixed seed, stored as <paramref name="type"/>.</summary>
    public static byte[] RandomData(ElementType type, long elements, int seed)
    {
        var random = new Random(seed);
        var values = new float[elements];
        for (long i = 0; i < elements; i++)
        {
            values[i] = (float)(random.NextDouble() * 4 - 2);
        }

        var bytes = new byte[elements * type.Size()];
        ElementConvert.FromSingle(values, type, bytes);
        return bytes;
    }
}
