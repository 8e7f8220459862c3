using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Client.Verification;

/// <summary>
/// Checks an output file (o [T, Hq, D], lse [Hq, T]) against its inputs (q, k, v) on sampled query rows, with a
/// float64 reference and tolerances by dtype. Reads q and the output only at the sampled rows and streams k and v
/// in chunks, so it works on outputs of any length.
/// </summary>
public static class OutputVerifier
{
    private const int KeyChunkRows = 4096;

    /// <param name="rows">Query tokens to check; the first and last token are always among them.</param>
    /// <param name="progress">Told the key tokens streamed so far, of all of them (the reference's work).</param>
    /// <param name="queriesPath">The queries file of a job whose queries were not the input file's (k and v then come
    /// from <paramref name="inputPath"/>), or null.</param>
    /// <param name="queryOffset">Global position of that file's first query; null: the last positions (Tk - n).</param>
    public static VerificationReport Verify(string inputPath, string outputPath, AttentionMask mask, float? scale, int rows = 64, int seed = 1,
        Action<long, long>? progress = null, string? queriesPath = null, int? queryOffset = null)
    {
        using var inputs = SafetensorsFile.Open(inputPath, "inputs");
        using var queriesFile = queriesPath is null ? null : SafetensorsFile.Open(queriesPath, "queries");
        using var outputs = SafetensorsFile.Open(outputPath, "output");
        var q = (queriesFile ?? inputs).GetTensor(TensorNames.Query);
        var k = inputs.GetTensor(TensorNames.Key);
        int queries = (int)q.Shape[0];
        long firstPosition = queriesFile is null ? 0 : queryOffset ?? (k.Shape[0] - queries);
        // The output is in the compute type (bfloat16 for FP8 inputs); the reference reads the inputs as stored, FP8
        // times its descale factors (float64: the exact values the FP8 file stands for).
        var spec = new AttentionSpec((int)k.Shape[0], (int)q.Shape[1], (int)k.Shape[1], (int)q.Shape[2], q.Type.ComputeType(), mask, scale).Validate();
        CheckOutputShapes(outputs, spec, queries);

        var stored = new StoredInputs(inputs, queriesFile ?? inputs, q.Type, spec.Heads, spec.KvHeads, spec.HeadDim);
        // Sampled output rows, and the global positions of their queries (what the mask sees).
        long[] sampled = SampleTokens(queries, rows, seed);
        long[] positions = [.. sampled.Select(r => r + firstPosition)];
        var reference = new SampledReference(spec, positions, ReadQueries(stored, spec, sampled));
        StreamKeys(stored, spec, reference, progress);
        return Compare(outputs, spec, sampled, queries, reference);
    }

    private static void CheckOutputShapes(SafetensorsReader outputs, AttentionSpec spec, int queries)
    {
        var o = outputs.GetTensor(TensorNames.Output);
        var lse = outputs.GetTensor(TensorNames.LogSumExp);
        if (!o.Shape.SequenceEqual([queries, spec.Heads, spec.HeadDim]) || !lse.Shape.SequenceEqual([spec.Heads, queries]) || lse.Type != ElementType.F32)
        {
            throw new SpecValidationException("output",
                $"output holds {o} and {lse}; expected o [{queries}, {spec.Heads}, {spec.HeadDim}] and lse F32 [{spec.Heads}, {queries}]");
        }
    }

    /// <summary>Sorted distinct rows: the first, the last and random others, <paramref name="rows"/> in all.</summary>
    internal static long[] SampleTokens(int tokens, int rows, int seed)
    {
        var random = new Random(seed);
        var picked = new SortedSet<long> { 0, tokens - 1 };
        while (picked.Count < Math.Min(rows, tokens))
        {
            picked.Add(random.NextInt64(tokens));
        }

        return [.. picked];
    }

    private static double[] ReadQueries(StoredInputs inputs, AttentionSpec spec, long[] positions)
    {
        int rowElements = spec.Heads * spec.HeadDim;
        var queries = new double[positions.Length * rowElements];
        for (int s = 0; s < positions.Length; s++)
        {
            inputs.Read(TensorNames.Query, (int)positions[s], 1, spec.Heads, queries.AsSpan(s * rowElements, rowElements));
        }

        return queries;
    }

    private static void StreamKeys(StoredInputs inputs, AttentionSpec spec, SampledReference reference, Action<long, long>? progress)
    {
        int rowElements = spec.KvHeads * spec.HeadDim;
        var keys = new double[KeyChunkRows * rowElements];
        var values = new double[KeyChunkRows * rowElements];
        for (int first = 0; first < spec.Tokens; first += KeyChunkRows)
        {
            int count = Math.Min(KeyChunkRows, spec.Tokens - first);
            inputs.Read(TensorNames.Key, first, count, spec.KvHeads, keys.AsSpan(0, count * rowElements));
            inputs.Read(TensorNames.Value, first, count, spec.KvHeads, values.AsSpan(0, count * rowElements));
            reference.AddKeys(first, count, keys, values);
            progress?.Invoke(first + count, spec.Tokens);
        }
    }

    private static VerificationReport Compare(SafetensorsReader outputs, AttentionSpec spec, long[] positions, int queries, SampledReference reference)
    {
        var tolerance = ReferenceAttention.Tolerance.For(spec.DType);
        int rowElements = spec.Heads * spec.HeadDim;
        byte[] oRow = new byte[rowElements * spec.DType.Size()];
        float[] actual = new float[rowElements];
        byte[] lseValue = new byte[4];
        double[] expected = new double[spec.HeadDim];
        double maxOutput = 0, maxLse = 0;
        string? failure = null;
        for (int s = 0; s < positions.Length && failure is null; s++)
        {
            outputs.ReadRows(TensorNames.Output, (int)positions[s], 1, oRow);
            ElementConvert.ToSingle(oRow, spec.DType, actual);
            for (int h = 0; h < spec.Heads && failure is null; h++)
            {
                double expectedLse = reference.Result(s, h, expected);
                outputs.ReadElements(TensorNames.LogSumExp, ((long)h * queries) + positions[s], lseValue);
                float actualLse = BitConverter.ToSingle(lseValue);
                var result = ReferenceAttention.CompareRow(
                    actual.AsSpan(h * spec.HeadDim, spec.HeadDim), actualLse, expected, expectedLse, tolerance, reference.MaxAbsValue);
                maxOutput = Math.Max(maxOutput, result.MaxOutputError / Math.Max(reference.MaxAbsValue, 1e-30));
                maxLse = double.IsFinite(result.LseError) ? Math.Max(maxLse, result.LseError) : maxLse;
                if (!result.Passed)
                {
                    failure = $"token {positions[s]}, head {h}: {result.Failure}";
                }
            }
        }

        return new VerificationReport(positions.Length, spec.Heads, spec.DType, maxOutput, maxLse, tolerance, failure);
    }
}
