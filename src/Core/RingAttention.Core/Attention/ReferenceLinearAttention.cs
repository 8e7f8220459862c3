using RingAttention.Tensors;

namespace RingAttention.Attention;

/// <summary>
/// Linear attention in float64 by its definition, the recurrence of <see cref="LinearAttentionSpec"/> token by token
/// (O(T·D²) per state head, no chunking): the oracle every linear-attention path is checked against.
/// </summary>
public static class ReferenceLinearAttention
{
    /// <summary>o [tokens, heads, headDim] of the whole sequence; q, k, v in the spec's storage type, rows in position order.</summary>
    public static double[] Compute(LinearAttentionSpec spec, ReadOnlySpan<byte> q, ReadOnlySpan<byte> k, ReadOnlySpan<byte> v)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec.Validate();
        int t = spec.Tokens, heads = spec.Heads, kvHeads = spec.KvHeads, d = spec.HeadDim;
        long qElements = (long)t * heads * d, kvElements = (long)t * kvHeads * d;
        if (q.Length < qElements * spec.DType.Size() || k.Length < kvElements * spec.DType.Size() || v.Length < kvElements * spec.DType.Size())
        {
            throw new ArgumentException($"q, k, v hold {q.Length}, {k.Length}, {v.Length} bytes; the spec needs {qElements * spec.DType.Size()}, {kvElements * spec.DType.Size()}, {kvElements * spec.DType.Size()}");
        }

        var o = new double[qElements];
        var s = new double[d * d];
        var z = new double[d];
        var phi = new double[d];
        var kPhi = new double[d];
        for (int sh = 0; sh < spec.StateHeads; sh++)
        {
            int kvh = spec.KvHeadOfState(sh);
            double gamma = spec.StateDecay(sh);
            Array.Clear(s);
            Array.Clear(z);
            if (!spec.Causal)
            {
                for (int token = 0; token < t; token++)
                {
                    Add(spec, k, v, token, kvh, 1.0, s, z, kPhi);
                }
            }

            for (int token = 0; token < t; token++)
            {
                if (spec.Causal)
                {
                    Add(spec, k, v, token, kvh, gamma, s, z, kPhi);
                }

                for (int h = 0; h < heads; h++)
                {
                    if (spec.StateHeadOf(h) != sh)
                    {
                        continue;
                    }

                    long qBase = (((long)token * heads) + h) * d;
                    for (int i = 0; i < d; i++)
                    {
                        phi[i] = spec.FeatureMap.Apply((double)ElementConvert.Read(q, spec.DType, qBase + i));
                    }

                    double denominator = 0;
                    for (int i = 0; i < d; i++)
                    {
                        denominator += phi[i] * z[i];
                    }

                    for (int j = 0; j < d; j++)
                    {
                        double sum = 0;
                        for (int i = 0; i < d; i++)
                        {
                            sum += phi[i] * s[(i * d) + j];
                        }

                        o[qBase + j] = spec.Normalize ? sum / denominator : sum;
                    }
                }
            }
        }

        return o;
    }

    /// <summary>S = γ S + φ(k) vᵀ, z = γ z + φ(k) for one token.</summary>
    private static void Add(LinearAttentionSpec spec, ReadOnlySpan<byte> k, ReadOnlySpan<byte> v, int token, int kvh, double gamma, double[] s, double[] z, double[] kPhi)
    {
        int d = spec.HeadDim;
        long kvBase = (((long)token * spec.KvHeads) + kvh) * d;
        for (int i = 0; i < d; i++)
        {
            kPhi[i] = spec.FeatureMap.Apply((double)ElementConvert.Read(k, spec.DType, kvBase + i));
            z[i] = (gamma * z[i]) + kPhi[i];
        }

        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < d; j++)
            {
                s[(i * d) + j] = (gamma * s[(i * d) + j]) + (kPhi[i] * ElementConvert.Read(v, spec.DType, kvBase + j));
            }
        }
    }
}
