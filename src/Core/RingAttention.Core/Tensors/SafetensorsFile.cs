namespace RingAttention.Tensors;

/// <summary>One-call helpers over <see cref="SafetensorsReader"/> and <see cref="SafetensorsWriter"/>.</summary>
public static class SafetensorsFile
{
    /// <summary>Opens <paramref name="path"/> for range reads; errors name <paramref name="field"/>.</summary>
    public static SafetensorsReader Open(string path, string field = "inputs") => SafetensorsReader.Open(path, field);

    /// <summary>
    /// Writes whole tensors (each <c>Data</c> exactly shape × dtype bytes, row-major) in the given order,
    /// through a temp file that is renamed onto <paramref name="path"/> only once everything is written.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, ElementType Type, long[] Shape, ReadOnlyMemory<byte> Data)> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        using var writer = SafetensorsWriter.Create(path, list.Select(t => (t.Name, t.Type, t.Shape)), metadata);
        foreach (var (name, _, _, data) in list)
        {
            var tensor = writer.GetTensor(name);
            if (data.Length != tensor.ByteLength)
            {
                throw new ArgumentException($"{tensor} needs {tensor.ByteLength} bytes, got {data.Length}", nameof(tensors));
            }

            writer.WriteElements(name, 0, data.Span);
        }

        writer.Commit();
    }
}
