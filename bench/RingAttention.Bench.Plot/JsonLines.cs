using System.Text.Json;

namespace RingAttention.Bench.Plot;

/// <summary>A results file: one JSON object per line (blank lines skipped).</summary>
public static class JsonLines
{
    public static IReadOnlyList<JsonElement> Read(string path) =>
        [.. File.ReadLines(path).Where(line => line.Trim().Length > 0).Select(line => JsonDocument.Parse(line).RootElement.Clone())];

    public static string Text(this JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    public static double? Number(this JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    public static bool Flag(this JsonElement row, string name) =>
        row.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;
}
