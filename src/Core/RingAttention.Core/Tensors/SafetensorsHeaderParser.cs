using System.Text.Json;
using RingAttention.Attention;

namespace RingAttention.Tensors;

/// <summary>Strict JSON-level validation of a safetensors header; every failure names the file and the rule.</summary>
internal static class SafetensorsHeaderParser
{
    private const string MetadataKey = "__metadata__";

    public static SafetensorsHeader Parse(ReadOnlyMemory<byte> json, long fileLength, string source, string field)
    {
        long dataStart = 8 + json.Length;
        if (!System.Text.Unicode.Utf8.IsValid(json.Span))
        {
            throw NotSafetensors(field, source, "header is not valid UTF-8");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException ex)
        {
            throw NotSafetensors(field, source, $"header is not valid JSON ({ex.Message})");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw NotSafetensors(field, source, $"header is a JSON {document.RootElement.ValueKind}, not an object");
            }

            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafetensorsEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw NotSafetensors(field, source, $"key '{property.Name}' appears twice in the header");
                }

                if (property.Name == MetadataKey)
                {
                    ReadMetadata(property.Value, metadata, field, source);
                }
                else
                {
                    entries.Add(ReadEntry(property.Name, property.Value, $"{field}.{property.Name}", source));
                }
            }

            entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
            CheckTiling(entries, fileLength - dataStart, field, source);
            return new SafetensorsHeader(source, field, dataStart, metadata, entries);
        }
    }

    internal static SpecValidationException NotSafetensors(string field, string source, string rule)
        => new(field, $"'{source}' is not a valid safetensors file: {rule}");

    private static void ReadMetadata(JsonElement value, Dictionary<string, string> metadata, string field, string source)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw NotSafetensors(field, source, $"{MetadataKey} must be an object of strings, not a JSON {value.ValueKind}");
        }

        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
            {
                throw NotSafetensors(field, source, $"{MetadataKey}.{item.Name} must be a string, not a JSON {item.Value.ValueKind}");
            }

            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ReadEntry(string name, JsonElement value, string field, string source)
    {
        string where = $"tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw NotSafetensors(field, source, $"{where} must be an object, not a JSON {value.ValueKind}");
        }

        if (!value.TryGetProperty("dtype", out var dtypeJson) || dtypeJson.ValueKind != JsonValueKind.String)
        {
            throw NotSafetensors(field, source, $"{where} has no string \"dtype\"");
        }

        string dtype = dtypeJson.GetString()!;
        long[] shape = ReadIntegers(value, "shape", expectedCount: null, where, field, source);
        long[] offsets = ReadIntegers(value, "data_offsets", expectedCount: 2, where, field, source);
        var entry = new SafetensorsEntry(name, dtype, shape, offsets[0], offsets[1]);
        if (entry.End < entry.Begin)
        {
            throw NotSafetensors(field, source, $"{where} data_offsets [{entry.Begin}, {entry.End}] end before they begin");
        }

        if (SafetensorsEntry.DtypeSize(dtype) is int size)
        {
            long expected;
            try
            {
                expected = checked(ShapeMath.ElementCount(shape) * size);
            }
            catch (OverflowException)
            {
                throw NotSafetensors(field, source, $"{where} shape {ShapeMath.Format(shape)} overflows 64-bit sizes");
            }

            if (expected != entry.ByteLength)
            {
                throw NotSafetensors(field, source,
                    $"{where} data_offsets [{entry.Begin}, {entry.End}] hold {entry.ByteLength} bytes but shape " +
                    $"{ShapeMath.Format(shape)} of {dtype} needs {expected}");
            }
        }

        return entry;
    }

    private static long[] ReadIntegers(JsonElement value, string key, int? expectedCount, string where, string field, string source)
    {
        string rule = expectedCount is int n ? $"an array of {n} non-negative integers" : "an array of non-negative integers";
        if (!value.TryGetProperty(key, out var array) || array.ValueKind != JsonValueKind.Array
            || (expectedCount is int count && array.GetArrayLength() != count))
        {
            throw NotSafetensors(field, source, $"{where} \"{key}\" must be {rule}");
        }

        var result = new long[array.GetArrayLength()];
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i]) || result[i] < 0)
            {
                throw NotSafetensors(field, source, $"{where} \"{key}\" must be {rule}, found {item.GetRawText()}");
            }

            i++;
        }

        return result;
    }

    /// <summary>Entries sorted by offset must tile [0, dataLength) exactly, as the rust safetensors requires.</summary>
    private static void CheckTiling(List<SafetensorsEntry> entries, long dataLength, string field, string source)
    {
        long cursor = 0;
        SafetensorsEntry? previous = null;
        foreach (var entry in entries)
        {
            string where = $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}]";
            if (entry.End > dataLength)
            {
                throw NotSafetensors($"{field}.{entry.Name}", source,
                    $"{where} run past the end of the data section ({dataLength} bytes; is the file truncated?)");
            }

            if (entry.Begin < cursor)
            {
                throw NotSafetensors($"{field}.{entry.Name}", source, $"{where} overlap tensor '{previous!.Name}' (ends at {cursor})");
            }

            if (entry.Begin > cursor)
            {
                throw NotSafetensors($"{field}.{entry.Name}", source, $"{where} leave a gap of {entry.Begin - cursor} bytes after offset {cursor}");
            }

            cursor = entry.End;
            previous = entry;
        }

        if (cursor != dataLength)
        {
            throw NotSafetensors(field, source, $"{dataLength - cursor} bytes follow the last tensor (data section is {dataLength} bytes, tensors cover {cursor})");
        }
    }
}
