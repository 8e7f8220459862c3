using System.Runtime.InteropServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// A TMA tensor map (CUtensorMap, 128 bytes, 64-byte aligned) over a three- or four-dimensional tensor of 8- or 16-bit elements
/// whose boxes are written to shared memory in the 128-byte swizzle that the wgmma descriptors read: for rows of a
/// <c>[rows, heads, headDim]</c> span, boxes of one 128-byte part of a row x 1 head x <c>boxRows</c> rows
/// (<see cref="EncodeRows"/>); for FP8's transposed V, boxes of 128 keys x every dim x 1 kv head
/// (<see cref="EncodeTransposed"/>). Elements past the tensor's end (the end of the span) arrive as zeros.
/// </summary>
internal static unsafe partial class TensorMap
{
    public const int Bytes = 128;

    private const int DataTypeUint8 = 0;       // CU_TENSOR_MAP_DATA_TYPE_UINT8 (e4m3): copied, never converted
    private const int DataTypeUint16 = 1;      // CU_TENSOR_MAP_DATA_TYPE_UINT16: bf16 and f16 are copied, never converted
    private const int InterleaveNone = 0;
    private const int Swizzle128 = 3;          // CU_TENSOR_MAP_SWIZZLE_128B
    private const int L2Promotion256 = 3;      // CU_TENSOR_MAP_L2_PROMOTION_L2_256B
    private const int OobFillZero = 0;         // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: out-of-bounds elements read as zero

    /// <summary>Rows <c>[rows, heads, headDim]</c> of <paramref name="elementBytes"/>-byte elements, boxes of one 128-byte part x 1 head x <paramref name="boxRows"/>.</summary>
    public static void EncodeRows(void* map, ulong address, int elementBytes, int heads, int headDim, long rows, int boxRows) =>
        Encode(map, address, elementBytes, [(ulong)headDim, (ulong)heads, (ulong)rows], [(uint)(128 / elementBytes), 1, (uint)boxRows],
            $"{rows} rows x {heads} heads x {headDim}, box rows {boxRows}");

    /// <summary>
    /// Query rows <c>[rows, heads, headDim]</c> seen as <c>[rows, heads / pack, pack, headDim]</c>, boxes of one 128-byte
    /// part x <paramref name="pack"/> heads x 1 head group x <paramref name="boxRows"/> / pack rows: a box lands in
    /// shared memory as rows token·pack + head, each one 128-byte part, the layout of <see cref="EncodeRows"/>' box
    /// (which pack 1 is). GQA packing (<see cref="WarpSpecializedPlan"/>).
    /// </summary>
    public static void EncodePackedRows(void* map, ulong address, int elementBytes, int heads, int pack, int headDim, long rows, int boxRows) =>
        Encode(map, address, elementBytes, [(ulong)headDim, (ulong)pack, (ulong)(heads / pack), (ulong)rows],
            [(uint)(128 / elementBytes), (uint)pack, 1, (uint)(boxRows / pack)],
            $"{rows} rows x {heads} heads (packs of {pack}) x {headDim}, box rows {boxRows / pack}");

    /// <summary>FP8's transposed V <c>[kvHeads, headDim, keys]</c> (<see cref="Fp8Values"/>), boxes of 128 keys x <paramref name="headDim"/> x 1.</summary>
    public static void EncodeTransposed(void* map, ulong address, int kvHeads, int headDim, long keys) =>
        Encode(map, address, 1, [(ulong)keys, (ulong)headDim, (ulong)kvHeads], [128, (uint)headDim, 1],
            $"transposed V of {kvHeads} kv heads x {headDim} x {keys} keys");

    private static void Encode(void* map, ulong address, int elementBytes, ReadOnlySpan<ulong> shape, ReadOnlySpan<uint> boxShape, string what)
    {
        // Dense: each dimension's stride (bytes) is the product of those inside it; the innermost stride is implicit.
        int rank = shape.Length;
        ulong* dims = stackalloc ulong[rank];
        ulong* strides = stackalloc ulong[rank - 1];
        uint* box = stackalloc uint[rank];
        uint* elementStrides = stackalloc uint[rank];
        ulong stride = (ulong)elementBytes;
        for (int i = 0; i < rank; i++)
        {
            dims[i] = shape[i];
            box[i] = boxShape[i];
            elementStrides[i] = 1;
            stride *= shape[i];
            if (i < rank - 1)
            {
                strides[i] = stride;
            }
        }

        int type = elementBytes == 1 ? DataTypeUint8 : DataTypeUint16;
        int rc = cuTensorMapEncodeTiled(map, type, (uint)rank, (void*)address, dims, strides, box, elementStrides, InterleaveNone, Swizzle128, L2Promotion256, OobFillZero);
        if (rc != 0)
        {
            throw new InvalidOperationException($"cuTensorMapEncodeTiled failed with CUDA error {rc} (address 0x{address:x}, {what})");
        }
    }

    [LibraryImport("libcuda.so.1")]
    private static partial int cuTensorMapEncodeTiled(
        void* map, int dataType, uint rank, void* address, ulong* dims, ulong* strides, uint* box, uint* elementStrides,
        int interleave, int swizzle, int l2Promotion, int oobFill);
}
