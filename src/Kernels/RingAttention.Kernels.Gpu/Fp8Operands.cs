namespace RingAttention.Kernels.Gpu;

/// <summary>
/// What an FP8 launch of the Hopper kernel takes beyond <see cref="FlashParams"/> (whose q and k addresses point at
/// e4m3 rows): V transposed and permuted (<see cref="Fp8Values"/>) from the key span's first row, its padded key count,
/// and the descale factors on the device: float32 q·k per query head (q_descale[h] · k_descale[kv head of h]) and
/// float32 v per kv head.
/// </summary>
internal readonly record struct Fp8Operands(ulong TransposedVPtr, long TransposedKeys, ulong QkDescalePtr, ulong VDescalePtr);
