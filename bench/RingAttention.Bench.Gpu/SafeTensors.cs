using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace RingAttention.Bench.Gpu;

/// <summary>Minimal safetensors reader/writer for the device checks (8-byte header length, JSON header, raw data).</summary>
internal static class SafeTensors
{
    public static Dictionary<string, (string Dtype, long[] Shape, byte[] Data)> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long n = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var result = new Dictionary<string, (string, long[], byte[])>();
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                continue;
            }

            var offsets = p.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var shape = p.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).ToArray();
            var data = bytes.AsSpan((int)(8 + n + offsets[0]), (int)(offsets[1] - offsets[0])).ToArray();
            result[p.Name] = (p.Value.GetProperty("dtype").GetString()!, shape, data);
        }

        return result;
    }

    public static void Write(string path, params (string Name, string Dtype, long[] Shape, byte[] Data)[] tensors)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var t in tensors)
        {
            header[t.Name] = new { dtype = t.Dtype, shape = t.Shape, data_offsets = new[] { offset, offset + t.Data.Length } };
            offset += t.Data.Length;
        }

        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - (json.Length % 8)) % 8;
        using var f = File.Create(path);
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, json.Length + pad);
        f.Write(len);
        f.Write(json);
        for (int i = 0; i < pad; i++)
        {
            f.WriteByte((byte)' ');
        }

        foreach (var t in tensors)
        {
            f.Write(t.Data);
        }
    }
}
