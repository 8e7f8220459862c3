namespace RingAttention.Tensors;

/// <summary>
/// A safetensors file of random q [T, Hq, D], k and v [T, Hkv, D] (normal, std 1; <see cref="SyntheticTensor"/>),
/// generated and written a chunk of rows at a time so that memory stays small whatever T is.
/// </summary>
public static class RandomAttentionInputs
{
    private const int ChunkRows = 1024;

    /// <param name="progress">Told the bytes written so far after each chunk (from any thread), of the total data bytes.</param>
    public static string Write(string path, int tokens, int heads, int kvHeads, int headDim, ElementType type, long seed,
        Action<long, long>? progress = null)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is null || !Directory.Exists(directory))
        {
            throw new Attention.SpecValidationException("output", $"the directory of '{path}' does not exist");
        }

        var shapes = new (string Name, int Heads)[] { (TensorNames.Query, heads), (TensorNames.Key, kvHeads), (TensorNames.Value, kvHeads) };
        using var writer = SafetensorsWriter.Create(path, shapes.Select(s => (s.Name, type, new long[] { tokens, s.Heads, headDim })));
        // Every element's value depends only on (seed, tensor, index), so chunks are generated on all cores at once
        // and written at their own offsets (1M tokens of issue 4 is 12.9 GB).
        long total = shapes.Sum(s => (long)tokens * s.Heads * headDim * type.Size());
        long written = 0;
        foreach (var (name, rowHeads) in shapes)
        {
            int rowElements = rowHeads * headDim;
            int chunks = (tokens + ChunkRows - 1) / ChunkRows;
            Parallel.For(0, chunks, () => new byte[(long)Math.Min(ChunkRows, tokens) * rowElements * type.Size()], (index, _, chunk) =>
            {
                int first = index * ChunkRows;
                int rows = Math.Min(ChunkRows, tokens - first);
                var bytes = chunk.AsSpan(0, rows * rowElements * type.Size());
                SyntheticTensor.FillRows(seed, name, type, rowElements, first, rows, bytes);
                writer.WriteRows(name, first, bytes);
                progress?.Invoke(Interlocked.Add(ref written, bytes.Length), total);
                return chunk;
            }, _ => { });
        }

        writer.Commit();
        return path;
    }
}
