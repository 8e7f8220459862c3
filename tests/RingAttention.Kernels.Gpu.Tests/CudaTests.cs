using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>The CUDA backend (tensor cores for f16/bf16 at d = 64/128); skipped with the reason when no CUDA device exists.</summary>
public sealed class CudaTests : AttentionBackendTests
{
    protected override IAttentionBackend? Create(out string reason) =>
        GpuBackends.TryCreateCuda(out var backend, out reason) ? backend : null;

    /// <summary>P is rounded to the input type before P·V (as in FA2): bf16 keeps 8 mantissa bits.</summary>
    protected override double Tolerance(ElementType type) => type switch
    {
        ElementType.BF16 => 2e-2,
        ElementType.F16 => 3e-3,
        _ => 2e-5,
    };
}
