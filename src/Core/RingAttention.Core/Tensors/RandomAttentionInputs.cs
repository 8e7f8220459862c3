namespace RingAttention.Tensors;

/// <summary>
/// A safetensors file of random q [T, Hq, D], k and v [T, Hkv, D] (normal, std 1; <see cref="SyntheticTensor"/>),
/// generated and written a chunk of rows at a time so that memory stays small whatever T is. As FP8 (E4M3): the same
/// values quantised with descale factors written beside them (<see cref="Fp8Factors"/>).
/// </summary>
public static class RandomAttentionInputs
{
    private const int ChunkRows = 1024;

    /// <summary>
    /// The descale factors of a generated FP8 file: q one factor, k and v one per kv head, each 8/448 (the values, std 1,
    /// use E4M3's range up to ±8) times 1, 1.25, 1.5, ... by kv head, so that per-head factors are exercised.
    /// </summary>
    public static float[] Fp8Factors(string tensor, int kvHeads) => tensor == TensorNames.Query
        ? [8f / 448f]
        : [.. Enumerable.Range(0, kvHeads).Select(h => 8f / 448f * (1 + (0.25f * h)))];

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
        bool fp8 = type == ElementType.F8E4M3;
        var layout = shapes.Select(s => (s.Name, type, new long[] { tokens, s.Heads, headDim })).ToList();
        if (fp8)
        {
            layout.AddRange(shapes.Select(s => (TensorNames.DescaleOf(s.Name), ElementType.F32, new long[] { Fp8Factors(s.Name, kvHeads).Length })));
        }

        using var writer = SafetensorsWriter.Create(path, layout);
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
                if (fp8)
                {
                    Quantise(seed, name, rowHeads, headDim, Fp8Factors(name, kvHeads), first, rows, bytes);
                }
                else
                {
                    SyntheticTensor.FillRows(seed, name, type, rowElements, first, rows, bytes);
                }

                writer.WriteRows(name, first, bytes);
                progress?.Invoke(Interlocked.Add(ref written, bytes.Length), total);
                return chunk;
            }, _ => { });
        }

        if (fp8)
        {
            foreach (var (name, _) in shapes)
            {
                writer.WriteRows(TensorNames.DescaleOf(name), 0, System.Runtime.InteropServices.MemoryMarshal.AsBytes(Fp8Factors(name, kvHeads).AsSpan()));
            }
        }

        writer.Commit();
        return path;
    }

    /// <summary>Rows of the synthetic values as E4M3 codes of value / factor (factor by head: one for q, per kv head
    /// for k and v, whose heads are the kv heads).</summary>
    private static void Quantise(long seed, string name, int heads, int headDim, float[] factors, int firstRow, int rows, Span<byte> codes)
    {
        var values = new float[rows * heads * headDim];
        SyntheticTensor.Fill(seed, name, (long)firstRow * heads * headDim, values);
        int group = Math.Max(1, heads / factors.Length);
        for (int i = 0; i < values.Length; i++)
        {
            codes[i] = ElementConvert.SingleToFp8E4M3(values[i] / factors[Math.Min(factors.Length - 1, i / headDim % heads / group)]);
        }
    }
}
