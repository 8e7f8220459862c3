using System.Globalization;
using RingAttention.Attention;
using RingAttention.Contracts;
using RingAttention.Tensors;

namespace RingAttention.Client.Verification;

/// <summary>
/// Checks a linear-attention output (o [T, Hq, D], no lse; options in its metadata) on sampled rows against the float64
/// recurrence: the keys stream once in order through a float64 state per state head (S = γ S + φ(k) vᵀ, z likewise),
/// and each sampled row is computed when the stream reaches it (causal) or from the whole state (not causal). The work is
/// T · state heads · D² multiply-adds whatever the rows checked, so long outputs are refused above
/// <see cref="MaxWork"/> with the way to check them on a GPU.
/// </summary>
public static class LinearOutputVerifier
{
    /// <summary>Multiply-adds of the float64 state beyond which the check is refused (about a minute on two cores).</summary>
    public const double MaxWork = 5e10;

    private const int KeyChunkRows = 4096;

    /// <summary>The linear-attention options an output's metadata records, or null when it is not a linear-attention output.</summary>
    public static (bool Causal, LinearFeatureMap Map, float[]? Decay, bool Normalize)? Options(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        if (!metadata.TryGetValue(OutputMetadata.AttentionKey, out var kind) || kind != "linear")
        {
            return null;
        }

        float[]? decay = metadata.TryGetValue(OutputMetadata.DecayKey, out var d)
            ? [.. d.Split(',').Select(x => float.Parse(x, CultureInfo.InvariantCulture))]
            : null;
        return (metadata.GetValueOrDefault(OutputMetadata.MaskKey) == "causal",
            LinearFeatureMaps.Parse(metadata.GetValueOrDefault(OutputMetadata.FeatureMapKey, "elu1"), "output"),
            decay, metadata.GetValueOrDefault(OutputMetadata.NormalizeKey, "true") == "true");
    }

    /// <param name="progress">Told the key tokens streamed so far, of all of them.</param>
    public static VerificationReport Verify(string inputPath, string outputPath, int rows = 64, int seed = 1, Action<long, long>? progress = null)
    {
        using var inputs = SafetensorsFile.Open(inputPath, "inputs");
        using var outputs = SafetensorsFile.Open(outputPath, "output");
        var options = Options(outputs.Header.Metadata)
            ?? throw new SpecValidationException("output", "the output does not say it is linear attention (metadata attention=linear)");
        var q = inputs.GetTensor(TensorNames.Query);
        var k = inputs.GetTensor(TensorNames.Key);
        var spec = new LinearAttentionSpec((int)k.Shape[0], (int)q.Shape[1], (int)k.Shape[1], (int)q.Shape[2], q.Type.ComputeType(),
            options.Causal, options.Map, options.Decay, options.Normalize).Validate();
        var o = outputs.GetTensor(TensorNames.Output);
        if (!o.Shape.SequenceEqual([spec.Tokens, spec.Heads, spec.HeadDim]))
        {
            throw new SpecValidationException("output", $"output holds {o}; expected o [{spec.Tokens}, {spec.Heads}, {spec.HeadDim}]");
        }

        double work = (double)spec.Tokens * spec.StateHeads * spec.HeadDim * spec.HeadDim;
        if (work > MaxWork)
        {
            throw new SpecValidationException("output",
                $"the float64 state of {spec.Tokens:N0} tokens x {spec.StateHeads} state heads x {spec.HeadDim}² is {work:0.#e0} multiply-adds (at most {MaxWork:0.#e0} here); check it on a GPU with python3 bench/peers/torch_linear.py --verify INPUTS OUTPUT");
        }

        var stored = new StoredInputs(inputs, inputs, q.Type, spec.Heads, spec.KvHeads, spec.HeadDim);
        long[] sampled = OutputVerifier.SampleTokens(spec.Tokens, rows, seed);
        var expected = Reference(spec, stored, sampled, progress);
        return Compare(outputs, spec, sampled, expected);
    }

    /// <summary>o of the sampled rows [sampled, heads, D] in float64.</summary>
    private static double[] Reference(LinearAttentionSpec spec, StoredInputs inputs, long[] sampled, Action<long, long>? progress)
    {
        int d = spec.HeadDim, rowElements = spec.Heads * d, kvElements = spec.KvHeads * d;
        var queries = new double[sampled.Length * rowElements];
        for (int s = 0; s < sampled.Length; s++)
        {
            inputs.Read(TensorNames.Query, (int)sampled[s], 1, spec.Heads, queries.AsSpan(s * rowElements, rowElements));
        }

        var states = Enumerable.Range(0, spec.StateHeads).Select(_ => (S: new double[d * d], Z: new double[d])).ToArray();
        var expected = new double[sampled.Length * rowElements];
        var keys = new double[KeyChunkRows * kvElements];
        var values = new double[KeyChunkRows * kvElements];
        for (int first = 0; first < spec.Tokens; first += KeyChunkRows)
        {
            int count = Math.Min(KeyChunkRows, spec.Tokens - first);
            inputs.Read(TensorNames.Key, first, count, spec.KvHeads, keys.AsSpan(0, count * kvElements));
            inputs.Read(TensorNames.Value, first, count, spec.KvHeads, values.AsSpan(0, count * kvElements));
            // State heads are independent: one task each, every token of the chunk in order.
            Parallel.For(0, spec.StateHeads, sh =>
            {
                var (s, z) = states[sh];
                int kvh = spec.KvHeadOfState(sh);
                double gamma = spec.StateDecay(sh);
                var phi = new double[d];
                int next = Array.BinarySearch(sampled, (long)first);
                next = next < 0 ? ~next : next;
                for (int t = 0; t < count; t++)
                {
                    for (int i = 0; i < d; i++)
                    {
                        phi[i] = spec.FeatureMap.Apply(keys[(t * kvElements) + (kvh * d) + i]);
                    }

                    for (int i = 0; i < d; i++)
                    {
                        z[i] = (gamma * z[i]) + phi[i];
                        for (int j = 0; j < d; j++)
                        {
                            s[(i * d) + j] = (gamma * s[(i * d) + j]) + (phi[i] * values[(t * kvElements) + (kvh * d) + j]);
                        }
                    }

                    // Causal: a sampled row reads the state that includes its own key.
                    for (; spec.Causal && next < sampled.Length && sampled[next] == first + t; next++)
                    {
                        RowOutput(spec, sh, s, z, queries, next, expected);
                    }
                }
            });
            progress?.Invoke(first + count, spec.Tokens);
        }

        if (!spec.Causal)
        {
            Parallel.For(0, spec.StateHeads, sh =>
            {
                for (int r = 0; r < sampled.Length; r++)
                {
                    RowOutput(spec, sh, states[sh].S, states[sh].Z, queries, r, expected);
                }
            });
        }

        return expected;
    }

    /// <summary>o of sampled row <paramref name="r"/> for every query head that reads state head <paramref name="sh"/>.</summary>
    private static void RowOutput(LinearAttentionSpec spec, int sh, double[] s, double[] z, double[] queries, int r, double[] expected)
    {
        int d = spec.HeadDim;
        for (int h = 0; h < spec.Heads; h++)
        {
            if (spec.StateHeadOf(h) != sh)
            {
                continue;
            }

            int at = (r * spec.Heads * d) + (h * d);
            double denominator = 0;
            for (int j = 0; j < d; j++)
            {
                expected[at + j] = 0;
            }

            for (int i = 0; i < d; i++)
            {
                double phi = spec.FeatureMap.Apply(queries[at + i]);
                denominator += phi * z[i];
                for (int j = 0; j < d; j++)
                {
                    expected[at + j] += phi * s[(i * d) + j];
                }
            }

            if (spec.Normalize)
            {
                for (int j = 0; j < d; j++)
                {
                    expected[at + j] /= denominator;
                }
            }
        }
    }

    private static VerificationReport Compare(SafetensorsReader outputs, LinearAttentionSpec spec, long[] sampled, double[] expected)
    {
        // The dtype's output tolerance, and at least float32 accumulation over the sequence's tokens.
        var dtype = ReferenceAttention.Tolerance.For(spec.DType);
        var tolerance = dtype with { Output = Math.Max(dtype.Output, 2e-4) };
        int rowElements = spec.Heads * spec.HeadDim;
        byte[] raw = new byte[rowElements * spec.DType.Size()];
        float[] actual = new float[rowElements];
        double magnitude = Math.Max(expected.Max(Math.Abs), 1e-30), worst = 0;
        string? failure = null;
        for (int r = 0; r < sampled.Length; r++)
        {
            outputs.ReadRows(TensorNames.Output, (int)sampled[r], 1, raw);
            ElementConvert.ToSingle(raw, spec.DType, actual);
            for (int e = 0; e < rowElements; e++)
            {
                double want = expected[(r * rowElements) + e];
                double error = Math.Abs(actual[e] - want) / magnitude;
                worst = double.IsNaN(error) ? double.PositiveInfinity : Math.Max(worst, error);
                if (failure is null && !(error <= tolerance.Output))
                {
                    failure = $"token {sampled[r]}, head {e / spec.HeadDim}, dim {e % spec.HeadDim}: o = {actual[e]} but float64 gives {want:G6} (|diff| / max|o| {error:E2} > {tolerance.Output:E1})";
                }
            }
        }

        return new VerificationReport(sampled.Length, spec.Heads, spec.DType, worst, 0, tolerance, failure);
    }
}
