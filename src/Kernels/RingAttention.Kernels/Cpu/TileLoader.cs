using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Moves tiles from storage (f32/f16/bf16, <c>[rows, heads, headDim]</c>) into f32 scratch. Keys and values are
/// re-read for every query tile, so their conversion is vectorised (16 elements per step with AVX-512);
/// the query tile is read once per work item and transposed with plain scalar code.
/// </summary>
internal static unsafe class TileLoader<TV>
    where TV : struct, ISimd<TV>
{
    /// <summary>
    /// destination[d · stride + i] = scale · q[row + i, head, d] for i &lt; count, and 0 for count ≤ i &lt; paddedCount.
    /// </summary>
    public static void LoadTransposed(byte* source, ElementType type, int rowElements, int headOffset, int headDim, int count, int paddedCount, float scale, float* destination, int stride)
    {
        for (int i = 0; i < count; i++)
        {
            long rowStart = ((long)i * rowElements) + headOffset;
            for (int d = 0; d < headDim; d++)
            {
                destination[(d * stride) + i] = scale * Read(source, type, rowStart + d);
            }
        }

        for (int d = 0; d < headDim; d++)
        {
            for (int i = count; i < paddedCount; i++)
            {
                destination[(d * stride) + i] = 0;
            }
        }
    }

    /// <summary>
    /// destination[j · stride + d] = source[j, head, d] widened to f32 for j &lt; rows, d &lt; headDim, and 0 for
    /// headDim ≤ d &lt; stride (the padded columns that whole-vector products read).
    /// </summary>
    public static void LoadRows(byte* source, ElementType type, int rowElements, int headOffset, int headDim, int rows, float* destination, int stride)
    {
        int size = type.Size();
        for (int j = 0; j < rows; j++)
        {
            byte* row = source + ((((long)j * rowElements) + headOffset) * size);
            float* dst = destination + ((long)j * stride);
            int d = 0;
            switch (type)
            {
                case ElementType.F32:
                    Buffer.MemoryCopy(row, dst, headDim * sizeof(float), headDim * sizeof(float));
                    d = headDim;
                    break;
                case ElementType.BF16:
                    for (; d + TV.Count <= headDim; d += TV.Count)
                    {
                        TV.Store(TV.LoadBFloat16((ushort*)row + d), dst + d);
                    }

                    break;
                case ElementType.F16:
                    for (; d + TV.Count <= headDim; d += TV.Count)
                    {
                        TV.Store(TV.LoadHalf((ushort*)row + d), dst + d);
                    }

                    break;
            }

            for (; d < headDim; d++)
            {
                dst[d] = Read(row, type, d);
            }

            for (; d < stride; d++)
            {
                dst[d] = 0;
            }
        }
    }

    private static float Read(byte* source, ElementType type, long index) => type switch
    {
        ElementType.F32 => ((float*)source)[index],
        ElementType.F16 => ElementConvert.HalfToSingle(((ushort*)source)[index]),
        _ => ElementConvert.BFloat16ToSingle(((ushort*)source)[index]),
    };
}
