using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>The operands of one launch: q, k, v as raw bytes (with their device addresses for the tensor-core kernels), o and lse in float32.</summary>
internal readonly record struct DeviceViews(
    ArrayView<byte> Q, ArrayView<byte> K, ArrayView<byte> V, ArrayView<float> O, ArrayView<float> Lse, ulong QPtr, ulong KPtr, ulong VPtr);
