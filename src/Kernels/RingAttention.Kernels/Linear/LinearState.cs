using RingAttention.Attention;

namespace RingAttention.Kernels.Linear;

/// <summary>
/// The running state of linear attention over a run of consecutive tokens, in float32: S [stateHeads, D, D] =
/// Σ_s γ^(last - s) φ(k_s) v_sᵀ and z [stateHeads, D] = Σ_s γ^(last - s) φ(k_s), with <see cref="Tokens"/> the run's
/// length (what a later run's decay raises γ to). This is what the ring carries between shards: its size is
/// O(heads · D²) whatever the sequence length.
/// </summary>
public sealed class LinearState
{
    public LinearState(int stateHeads, int headDim)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(stateHeads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        StateHeads = stateHeads;
        HeadDim = headDim;
        S = new float[(long)stateHeads * headDim * headDim];
        Z = new float[(long)stateHeads * headDim];
    }

    private LinearState(int stateHeads, int headDim, int tokens, float[] s, float[] z)
    {
        StateHeads = stateHeads;
        HeadDim = headDim;
        Tokens = tokens;
        S = s;
        Z = z;
    }

    /// <summary>
    /// A state over arrays received from elsewhere (no copy), checked against <paramref name="spec"/>'s shape: a state of
    /// another shape is refused, never read past its end.
    /// </summary>
    public static LinearState Wrap(LinearAttentionSpec spec, int tokens, float[] s, float[] z)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(z);
        long sLength = (long)spec.StateHeads * spec.HeadDim * spec.HeadDim, zLength = (long)spec.StateHeads * spec.HeadDim;
        if (s.LongLength != sLength || z.LongLength != zLength || tokens < 0)
        {
            throw new ArgumentException($"a state of {s.LongLength} + {z.LongLength} floats over {tokens} tokens does not fit [{spec.StateHeads}, {spec.HeadDim}, {spec.HeadDim}] + [{spec.StateHeads}, {spec.HeadDim}]");
        }

        return new LinearState(spec.StateHeads, spec.HeadDim, tokens, s, z);
    }

    /// <summary>An empty state (no token yet) for <paramref name="spec"/>.</summary>
    public static LinearState Empty(LinearAttentionSpec spec) => new(spec.StateHeads, spec.HeadDim);

    public int StateHeads { get; }

    public int HeadDim { get; }

    /// <summary>Tokens the state covers.</summary>
    public int Tokens { get; set; }

    public float[] S { get; }

    public float[] Z { get; }

    /// <summary>Bytes of S and z: what one hop of the ring moves.</summary>
    public long Bytes => 4L * (S.Length + Z.Length);

    /// <summary>
    /// This state followed by <paramref name="next"/> (the run just after it): S = γ^next.Tokens · S + next.S, the same
    /// for z; the result covers both runs.
    /// </summary>
    public void Append(LinearAttentionSpec spec, LinearState next)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(next);
        if (next.StateHeads != StateHeads || next.HeadDim != HeadDim)
        {
            throw new ArgumentException($"next is [{next.StateHeads}, {next.HeadDim}] but this state is [{StateHeads}, {HeadDim}]", nameof(next));
        }

        int d = HeadDim;
        for (int sh = 0; sh < StateHeads; sh++)
        {
            float scale = (float)Math.Pow(spec.StateDecay(sh), next.Tokens);
            var s = S.AsSpan(sh * d * d, d * d);
            var ns = next.S.AsSpan(sh * d * d, d * d);
            for (int i = 0; i < s.Length; i++)
            {
                s[i] = (scale * s[i]) + ns[i];
            }

            var z = Z.AsSpan(sh * d, d);
            var nz = next.Z.AsSpan(sh * d, d);
            for (int i = 0; i < d; i++)
            {
                z[i] = (scale * z[i]) + nz[i];
            }
        }

        Tokens += next.Tokens;
    }

    public LinearState Clone()
    {
        var copy = new LinearState(StateHeads, HeadDim) { Tokens = Tokens };
        S.CopyTo(copy.S, 0);
        Z.CopyTo(copy.Z, 0);
        return copy;
    }
}
