namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Kernel parameters of one launch: one query span against one key span of the same head layout.
/// Layouts (elements): q <c>[rows, heads, headDim]</c>, k and v <c>[rows, kvHeads, headDim]</c>,
/// o float32 <c>[lseStride rows, heads, headDim]</c>, lse float32 <c>[heads, lseStride]</c>.
/// Visibility by GLOBAL position: key kp is visible to query qp iff <c>DMin &lt;= qp - kp &lt;= DMax</c>
/// (causal: DMin = 0; window W: DMax = W - 1, and without causal DMin = -(W - 1)).
/// </summary>
internal struct FlashParams
{
    /// <summary>Device address of q element 0 (CUDA kernel only; the portable kernel reads views).</summary>
    public ulong QPtr;

    public ulong KPtr;

    public ulong VPtr;

    /// <summary>First buffer row of this query span, its row count and the global position of its first row.</summary>
    public int QRowOffset;

    public int QCount;

    public int QPos0;

    public int KRowOffset;

    public int KCount;

    public int KPos0;

    public int Heads;

    /// <summary>Query heads per kv head (GQA group size).</summary>
    public int Group;

    public int KvHeads;

    public int HeadDim;

    public int DMin;

    public int DMax;

    /// <summary>Softmax scale times log2(e): scores are exponentiated with ex2.</summary>
    public float ScaleLog2;

    /// <summary>Rows of the whole result (row stride of lse).</summary>
    public int LseStride;

    /// <summary>1: merge into the existing O/LSE with the stable LSE merge; 0: overwrite (empty rows get 0 / -inf).</summary>
    public int Merge;

    /// <summary>Query rows per block (tile height); the portable kernel launches this many threads per block.</summary>
    public int BlockRows;

    /// <summary>Keys per tile.</summary>
    public int BlockKeys;

    /// <summary>1: block x walks m-blocks from the last (heaviest under a causal mask) to the first.</summary>
    public int HeavyFirst;
}
