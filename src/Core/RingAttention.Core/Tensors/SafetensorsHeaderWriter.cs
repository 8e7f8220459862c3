using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace RingAttention.Tensors;

/// <summary>
/// Serialises a header the way python safetensors does: tensors' data_offsets contiguous in the given
/// order starting at 0, "__metadata__" first when present, JSON padded with spaces so that 8 + N is a
/// multiple of 8 (keeps every tensor's data 8-byte aligned when offsets are).
/// </summary>
internal static class SafetensorsHeaderWriter
{
    public static byte[] Build(IReadOnlyList<(string Name, ElementType Type, long[] Shape)> tensors,
        IReadOnlyDictionary<string, string>? metadata, out long dataLength)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, type, shape) in tensors)
            {
                if (string.IsNullOrEmpty(name) || name == "__metadata__" || !names.Add(name))
                {
                    throw new ArgumentException($"tensor name '{name}' is empty, reserved or repeated", nameof(tensors));
                }

                if (shape.Any(d => d < 0))
                {
                    throw new ArgumentException($"tensor '{name}' has a negative dimension in {ShapeMath.Format(shape)}", nameof(tensors));
                }

                long end = checked(offset + ShapeMath.ElementCount(shape) * type.Size());
                json.WriteStartObject(name);
                json.WriteString("dtype", type.SafetensorsName());
                WriteArray(json, "shape", shape);
                WriteArray(json, "data_offsets", [offset, end]);
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
            dataLength = offset;
        }

        int padded = (buffer.WrittenCount + 7) / 8 * 8;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteArray(Utf8JsonWriter json, string name, long[] values)
    {
        json.WriteStartArray(name);
        foreach (long value in values)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
    }
}
