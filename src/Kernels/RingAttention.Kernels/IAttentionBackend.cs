using RingAttention.Attention;

namespace RingAttention.Kernels;

/// <summary>
/// One compute device's blockwise attention. Implementations: CPU (SIMD, multi-threaded), ILGPU.
/// Grains know kernels only through this interface.
/// </summary>
public interface IAttentionBackend : IDisposable
{
    /// <summary>Short name for logs and progress ("cpu", "cuda:0").</summary>
    string Name { get; }

    /// <summary>
    /// Attention of <paramref name="queries"/> against <paramref name="keyValues"/>, masked by GLOBAL positions
    /// (spec.Mask), merged into <paramref name="accumulator"/> with the stable log-sum-exp merge.
    /// Uses spec's heads, kvHeads, headDim, mask and scale; spec.Tokens is the whole sequence and is not needed.
    /// Fully masked tiles cost nothing. Accumulates in float32 whatever the storage type.
    /// </summary>
    void Accumulate(AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator, CancellationToken cancellationToken = default);
}
