using RingAttention.Tensors;

namespace RingAttention.Cli;

/// <summary>Random q/k/v in a safetensors file, generated and written one tensor at a time.</summary>
public static class RandomInputs
{
    public static void Write(string path, int tokens, int heads, int kvHeads, int headDim, ElementType type, long seed)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is null || !Directory.Exists(directory))
        {
            throw new RingAttention.Attention.SpecValidationException("output", $"the directory of '{path}' does not exist");
        }

        var shapes = new (string Name, int Heads)[] { ("q", heads), ("k", kvHeads), ("v", kvHeads) };
        using var writer = SafetensorsWriter.Create(path, shapes.Select(s => (s.Name, type, new long[] { tokens, s.Heads, headDim })));
        foreach (var (name, rowHeads) in shapes)
        {
            int rowElements = rowHeads * headDim;
            const int ChunkRows = 1024;
            byte[] chunk = new byte[(long)ChunkRows * rowElements * type.Size()];
            for (int first = 0; first < tokens; first += ChunkRows)
            {
                int rows = Math.Min(ChunkRows, tokens - first);
                var bytes = chunk.AsSpan(0, rows * rowElements * type.Size());
                SyntheticTensor.FillRows(seed, name, type, rowElements, first, rows, bytes);
                writer.WriteRows(name, first, bytes);
            }
        }

        writer.Commit();
    }
}
