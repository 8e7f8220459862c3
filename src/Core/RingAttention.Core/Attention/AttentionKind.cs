namespace RingAttention.Attention;

/// <summary>What a job computes: softmax attention (the default) or linear attention (<see cref="LinearAttentionSpec"/>).</summary>
public enum AttentionKind
{
    Softmax,
    Linear,
}
