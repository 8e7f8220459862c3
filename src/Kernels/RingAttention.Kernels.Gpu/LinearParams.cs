namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One launch of the linear-attention kernels (<see cref="LinearKernels"/>) over one piece of a span: rows
/// [<see cref="RowOffset"/>, + <see cref="Rows"/>) of the shard's buffers, cut into chunks of
/// <see cref="LinearKernels.Chunk"/> tokens.
/// </summary>
internal struct LinearParams
{
    public int Heads;
    public int KvHeads;
    public int StateHeads;
    public int HeadDim;

    /// <summary>Query heads per kv head.</summary>
    public int Group;

    /// <summary>1 when γ differs per query head (a state per query head), 0 without decay (a state per kv head).</summary>
    public int PerHeadState;

    /// <summary>0 elu(x) + 1, 1 relu, 2 identity (<see cref="Attention.LinearFeatureMap"/>).</summary>
    public int FeatureMap;

    public int Normalize;

    public int Causal;

    /// <summary>Storage type of q, k, v as the portable kernel reads it: 0 f32, 1 f16, 2 bf16.</summary>
    public int DType;

    /// <summary>First row of the piece in the shard's q and K/V buffers (and in the output).</summary>
    public int RowOffset;

    public int Rows;

    public int Chunks;

    /// <summary>Floats of one state head's S and z: D·D + D.</summary>
    public int StateFloats => (HeadDim * HeadDim) + HeadDim;
}
