using System.Runtime.InteropServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// A TMA tensor map (CUtensorMap, 128 bytes, 64-byte aligned) over one span of a <c>[rows, heads, headDim]</c> 16-bit
/// tensor: boxes of 64 columns x 1 head x <c>boxRows</c> rows, written to shared memory in the 128-byte swizzle that the
/// wgmma descriptors read. Rows at or past <c>rows</c> (the end of the span) arrive as zeros.
/// </summary>
internal static unsafe partial class TensorMap
{
    public const int Bytes = 128;

    private const int DataTypeUint16 = 1;      // CU_TENSOR_MAP_DATA_TYPE_UINT16: bf16 and f16 are copied, never converted
    private const int InterleaveNone = 0;
    private const int Swizzle128 = 3;          // CU_TENSOR_MAP_SWIZZLE_128B
    private const int L2Promotion256 = 3;      // CU_TENSOR_MAP_L2_PROMOTION_L2_256B
    private const int OobFillZero = 0;         // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: out-of-bounds elements read as zero

    /// <summary>Encodes the map into <paramref name="map"/> (<see cref="Bytes"/> bytes, 64-byte aligned).</summary>
    public static void Encode(void* map, ulong address, int heads, int headDim, long rows, int boxRows)
    {
        ulong* dims = stackalloc ulong[3] { (ulong)headDim, (ulong)heads, (ulong)rows };
        ulong* strides = stackalloc ulong[2] { (ulong)headDim * 2, (ulong)heads * (ulong)headDim * 2 };
        uint* box = stackalloc uint[3] { 64, 1, (uint)boxRows };
        uint* elementStrides = stackalloc uint[3] { 1, 1, 1 };
        int rc = cuTensorMapEncodeTiled(map, DataTypeUint16, 3, (void*)address, dims, strides, box, elementStrides, InterleaveNone, Swizzle128, L2Promotion256, OobFillZero);
        if (rc != 0)
        {
            throw new InvalidOperationException(
                $"cuTensorMapEncodeTiled failed with CUDA error {rc} (address 0x{address:x}, {rows} rows x {heads} heads x {headDim}, box rows {boxRows})");
        }
    }

    [LibraryImport("libcuda.so.1")]
    private static partial int cuTensorMapEncodeTiled(
        void* map, int dataType, uint rank, void* address, ulong* dims, ulong* strides, uint* box, uint* elementStrides,
        int interleave, int swizzle, int l2Promotion, int oobFill);
}
