using System.Numerics;
using RingAttention.Attention;

namespace RingAttention.Kernels.Linear;

/// <summary>
/// Linear attention of one shard's consecutive tokens on the CPU, in the chunkwise-parallel form: chunks of
/// <see cref="ChunkTokens"/>; inside a chunk the masked, decayed products φ(q)·φ(k) against the chunk's own keys, plus
/// φ(q)ᵀ times the state at the chunk's start; then the state moves past the chunk. float32 throughout (inputs already
/// widened from their storage type), vectorised over the head dim, one task per state head.
/// </summary>
public static class CpuLinearAttention
{
    /// <summary>Tokens per chunk (the intra-chunk product is chunk² · D, the state update chunk · D²).</summary>
    public const int ChunkTokens = 64;

    /// <summary>The state of this shard's keys alone (what it sends round the ring).</summary>
    public static LinearState LocalState(LinearAttentionSpec spec, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int rows)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var state = LinearState.Empty(spec);
        state.Tokens = rows;
        int d = spec.HeadDim;
        float[] kArray = k[..(rows * spec.KvHeads * d)].ToArray(), vArray = v[..(rows * spec.KvHeads * d)].ToArray();
        Parallel.For(0, spec.StateHeads, sh =>
        {
            var s = state.S.AsSpan(sh * d * d, d * d);
            var z = state.Z.AsSpan(sh * d, d);
            var phiK = new float[d];
            int kvh = spec.KvHeadOfState(sh);
            double gamma = spec.StateDecay(sh);
            for (int t = 0; t < rows; t++)
            {
                // Keys later in the run decay less: weight γ^(rows - 1 - t).
                float w = (float)Math.Pow(gamma, rows - 1 - t);
                Phi(spec.FeatureMap, kArray.AsSpan(((t * spec.KvHeads) + kvh) * d, d), phiK);
                var value = vArray.AsSpan(((t * spec.KvHeads) + kvh) * d, d);
                for (int i = 0; i < d; i++)
                {
                    float a = w * phiK[i];
                    z[i] += a;
                    Axpy(a, value, s.Slice(i * d, d));
                }
            }
        });
        return state;
    }

    /// <summary>
    /// o [rows, heads, D] of this shard's queries. Causal: <paramref name="incoming"/> is the state of every token before
    /// the shard (empty for the first), and the shard's own keys are added chunk by chunk. Not causal:
    /// <paramref name="incoming"/> is the state of the whole sequence, this shard's keys included.
    /// </summary>
    public static void Output(LinearAttentionSpec spec, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int rows, LinearState incoming, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(incoming);
        int d = spec.HeadDim, heads = spec.Heads;
        if (output.Length < rows * heads * d)
        {
            throw new ArgumentException($"output holds {output.Length} floats; {rows} rows need {rows * heads * d}", nameof(output));
        }

        float[] qArray = q[..(rows * heads * d)].ToArray(), kArray = k[..(rows * spec.KvHeads * d)].ToArray(), vArray = v[..(rows * spec.KvHeads * d)].ToArray();
        float[] o = new float[rows * heads * d];
        Parallel.For(0, spec.StateHeads, sh => OutputHead(spec, sh, qArray, kArray, vArray, rows, incoming, o));
        o.CopyTo(output);
    }

    private static void OutputHead(LinearAttentionSpec spec, int sh, float[] q, float[] k, float[] v, int rows, LinearState incoming, float[] o)
    {
        int d = spec.HeadDim, heads = spec.Heads, kvh = spec.KvHeadOfState(sh);
        double gamma = spec.StateDecay(sh);
        float[] s = incoming.S.AsSpan(sh * d * d, d * d).ToArray();
        float[] z = incoming.Z.AsSpan(sh * d, d).ToArray();
        var powers = new float[ChunkTokens + 1];
        for (int i = 0; i <= ChunkTokens; i++)
        {
            powers[i] = (float)Math.Pow(gamma, i);
        }

        var phiK = new float[ChunkTokens * d];
        var phiQ = new float[d];
        var numerator = new float[d];
        var queryHeads = Enumerable.Range(0, heads).Where(h => spec.StateHeadOf(h) == sh).ToArray();
        for (int c0 = 0; c0 < rows; c0 += ChunkTokens)
        {
            int c1 = Math.Min(rows, c0 + ChunkTokens);
            for (int t = c0; t < c1; t++)
            {
                Phi(spec.FeatureMap, k.AsSpan(((t * spec.KvHeads) + kvh) * d, d), phiK.AsSpan((t - c0) * d, d));
            }

            for (int t = c0; t < c1; t++)
            {
                foreach (int h in queryHeads)
                {
                    Phi(spec.FeatureMap, q.AsSpan(((t * heads) + h) * d, d), phiQ);
                    Array.Clear(numerator);
                    float denominator = 0;
                    if (spec.Causal)
                    {
                        // The state at the chunk's start, decayed to t; then the chunk's keys up to t.
                        float g = powers[t - c0 + 1];
                        for (int i = 0; i < d; i++)
                        {
                            Axpy(g * phiQ[i], s.AsSpan(i * d, d), numerator);
                            denominator += g * phiQ[i] * z[i];
                        }

                        for (int u = c0; u <= t; u++)
                        {
                            float w = powers[t - u] * Dot(phiQ, phiK.AsSpan((u - c0) * d, d));
                            Axpy(w, v.AsSpan(((u * spec.KvHeads) + kvh) * d, d), numerator);
                            denominator += w;
                        }
                    }
                    else
                    {
                        for (int i = 0; i < d; i++)
                        {
                            Axpy(phiQ[i], s.AsSpan(i * d, d), numerator);
                            denominator += phiQ[i] * z[i];
                        }
                    }

                    var row = o.AsSpan(((t * heads) + h) * d, d);
                    float inverse = spec.Normalize ? 1f / denominator : 1f;
                    for (int j = 0; j < d; j++)
                    {
                        row[j] = numerator[j] * inverse;
                    }
                }
            }

            if (spec.Causal)
            {
                // The state moves past the chunk: S = γ^len S + Σ_u γ^(c1 - 1 - u) φ(k_u) v_uᵀ.
                float scale = powers[c1 - c0];
                Scale(s, scale);
                Scale(z, scale);
                for (int u = c0; u < c1; u++)
                {
                    float w = powers[c1 - 1 - u];
                    var value = v.AsSpan(((u * spec.KvHeads) + kvh) * d, d);
                    for (int i = 0; i < d; i++)
                    {
                        float a = w * phiK[((u - c0) * d) + i];
                        z[i] += a;
                        Axpy(a, value, s.AsSpan(i * d, d));
                    }
                }
            }
        }
    }

    private static void Phi(LinearFeatureMap map, ReadOnlySpan<float> x, Span<float> result)
    {
        for (int i = 0; i < x.Length; i++)
        {
            result[i] = map.Apply(x[i]);
        }
    }

    /// <summary>y += a · x.</summary>
    private static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(a);
            for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
            {
                (new Vector<float>(y[i..]) + (va * new Vector<float>(x[i..]))).CopyTo(y[i..]);
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }

    private static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int i = 0;
        var acc = Vector<float>.Zero;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
            {
                acc += new Vector<float>(x[i..]) * new Vector<float>(y[i..]);
            }
        }

        float sum = Vector.Sum(acc);
        for (; i < x.Length; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    private static void Scale(Span<float> x, float a)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] *= a;
        }
    }
}
