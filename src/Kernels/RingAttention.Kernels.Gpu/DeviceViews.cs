using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The operands of one launch: q, k, v as raw bytes, o and lse in float32, with their device addresses for the
/// tensor-core kernels (the warp-specialized ones take every operand by address).
/// </summary>
internal readonly record struct DeviceViews(
    ArrayView<byte> Q, ArrayView<byte> K, ArrayView<byte> V, ArrayView<float> O, ArrayView<float> Lse, ulong QPtr, ulong KPtr, ulong VPtr, ulong OPtr, ulong LsePtr);
