using RingAttention.Tensors;

namespace RingAttention.Attention;

/// <summary>
/// Linear attention over a whole sequence (q: [tokens, heads, headDim], k and v: [tokens, kvHeads, headDim], o like q;
/// no lse): o_t = φ(q_t)ᵀ S_t, divided by φ(q_t)ᵀ z_t when <see cref="Normalize"/>, where, causal,
/// S_t = γ S_{t-1} + φ(k_t) v_tᵀ and z_t = γ z_{t-1} + φ(k_t) (γ = 1 without decay; RetNet's retention with it), and,
/// not causal, S and z sum every token. Query head h reads kv head h / (heads / kvHeads); its decay is
/// <see cref="Decay"/>[h] (one value for every head, or none). The softmax scale and windows do not apply.
/// </summary>
public sealed record LinearAttentionSpec(
    int Tokens,
    int Heads,
    int KvHeads,
    int HeadDim,
    ElementType DType,
    bool Causal,
    LinearFeatureMap FeatureMap = LinearFeatureMap.Elu1,
    IReadOnlyList<float>? Decay = null,
    bool Normalize = true)
{
    /// <summary>Query heads per kv head.</summary>
    public int GroupSize => Heads / KvHeads;

    /// <summary>
    /// Heads of the running state: one per kv head without decay (its query heads share it), one per query head with
    /// decay (heads of one group may decay at different rates).
    /// </summary>
    public int StateHeads => Decay is null ? KvHeads : Heads;

    /// <summary>γ of query head <paramref name="head"/> (1 without decay).</summary>
    public double DecayOf(int head) => Decay is null ? 1.0 : Decay.Count == 1 ? Decay[0] : Decay[head];

    /// <summary>γ of state head <paramref name="stateHead"/>.</summary>
    public double StateDecay(int stateHead) => Decay is null ? 1.0 : DecayOf(stateHead);

    /// <summary>The state head query head <paramref name="head"/> reads.</summary>
    public int StateHeadOf(int head) => Decay is null ? head / GroupSize : head;

    /// <summary>The kv head whose k and v feed state head <paramref name="stateHead"/>.</summary>
    public int KvHeadOfState(int stateHead) => Decay is null ? stateHead : stateHead / GroupSize;

    /// <summary>Throws <see cref="SpecValidationException"/> naming the first field that breaks a rule.</summary>
    public LinearAttentionSpec Validate()
    {
        // The shape rules are softmax attention's (one set of rules for q, k, v and the dtype).
        _ = new AttentionSpec(Tokens, Heads, KvHeads, HeadDim, DType, AttentionMask.None).Validate();
        if (!Enum.IsDefined(FeatureMap))
        {
            throw new SpecValidationException("featureMap", $"feature map {FeatureMap} is not one of {string.Join(", ", LinearFeatureMaps.Names)}");
        }

        if (Decay is { } decay)
        {
            if (decay.Count != 1 && decay.Count != Heads)
            {
                throw new SpecValidationException("decay", $"decay has {decay.Count} values; give one for every head or one per query head ({Heads})");
            }

            for (int h = 0; h < decay.Count; h++)
            {
                if (!(decay[h] > 0f && decay[h] <= 1f))
                {
                    throw new SpecValidationException("decay", $"decay[{h}] = {decay[h]} is outside (0, 1]");
                }
            }

            if (!Causal)
            {
                throw new SpecValidationException("decay", "decay applies to causal linear attention (retention: S_t = γ S_{t-1} + φ(k_t) v_tᵀ); without --causal there is no order to decay along");
            }
        }

        if (Normalize && FeatureMap.CanZeroDenominator())
        {
            throw new SpecValidationException("normalize",
                $"normalising divides by φ(q)ᵀz, which the {FeatureMap.Name()} feature map can make zero or negative; use --feature-map elu1 or --no-normalize");
        }

        return this;
    }
}
