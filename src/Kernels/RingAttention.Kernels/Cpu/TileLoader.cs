using System.Runtime.CompilerServices;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// Moves tiles from storage (f32/f16/bf16, <c>[rows, heads, headDim]</c>) into contiguous f32 scratch. Keys and
/// values are copied even when stored as f32: in place their rows sit heads·headDim apart (4 KiB for 8 × 128
/// floats) and collide in the L1 sets, while the copy costs ~1% (headDim floats per key per query tile against
/// 2·QueryTile·headDim FMAs). Conversion is vectorised (16 elements per step with AVX-512); the query tile,
/// read once per work item, is transposed with plain scalar code.
/// </summary>
internal static unsafe class TileLoader<TV>
    where TV : struct, ISimd<TV>
{
    /// <summary>Floats per B panel row of <see cref="TileGemm{TV}"/> (4 vectors).</summary>
    public static int PanelWidth => 4 * TV.Count;

    /// <summary>
    /// Q^T as B panels for S^T = K·Q^T: scale · q[row + i, head, d] at destination + p·headDim·PanelWidth +
    /// d·PanelWidth + (i - p·PanelWidth) for the panel p holding query i; queries count ≤ i &lt; paddedCount are 0.
    /// Contiguous panels for the same reason as V (rows of a 128-query tile would sit 512 bytes apart).
    /// </summary>
    public static void LoadTransposed(byte* source, ElementType type, int rowElements, int headOffset, int headDim, int count, int paddedCount, float scale, float* destination)
    {
        int panelStride = headDim * PanelWidth;
        for (int i = 0; i < paddedCount; i++)
        {
            float* column = destination + (i / PanelWidth * panelStride) + (i % PanelWidth);
            if (i >= count)
            {
                for (int d = 0; d < headDim; d++)
                {
                    column[d * PanelWidth] = 0;
                }

                continue;
            }

            long rowStart = ((long)i * rowElements) + headOffset;
            for (int d = 0; d < headDim; d++)
            {
                column[d * PanelWidth] = scale * Read(source, type, rowStart + d);
            }
        }
    }

    /// <summary>destination[j · headDim + d] = source[j, head, d] as f32, for j &lt; rows (K for S^T = K·Q^T).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LoadRows(byte* source, ElementType type, int rowElements, int headOffset, int headDim, int rows, float* destination)
    {
        int size = type.Size();
        for (int j = 0; j < rows; j++)
        {
            ConvertRow(source + ((((long)j * rowElements) + headOffset) * size), type, headDim, destination + ((long)j * headDim), headDim);
        }
    }

    /// <summary>
    /// V as B panels for O += P·V: columns [p·PanelWidth, (p+1)·PanelWidth) of row j at
    /// destination + p·panelStride + j·PanelWidth; columns from headDim up to the next whole vector are 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LoadPanels(byte* source, ElementType type, int rowElements, int headOffset, int headDim, int rows, float* destination, int panelStride)
    {
        int size = type.Size();
        int padded = (headDim + TV.Count - 1) / TV.Count * TV.Count;
        for (int j = 0; j < rows; j++)
        {
            byte* row = source + ((((long)j * rowElements) + headOffset) * size);
            for (int p = 0, column = 0; column < headDim; p++, column += PanelWidth)
            {
                ConvertRow(
                    row + (column * size), type, Math.Min(PanelWidth, headDim - column),
                    destination + ((long)p * panelStride) + ((long)j * PanelWidth), Math.Min(PanelWidth, padded - column));
            }
        }
    }

    /// <summary>count elements widened to f32, then zeros up to paddedCount.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ConvertRow(byte* source, ElementType type, int count, float* destination, int paddedCount)
    {
        int d = 0;
        switch (type)
        {
            case ElementType.F32:
                for (; d + TV.Count <= count; d += TV.Count)
                {
                    TV.Store(TV.Load((float*)source + d), destination + d);
                }

                break;
            case ElementType.BF16:
                for (; d + TV.Count <= count; d += TV.Count)
                {
                    TV.Store(TV.LoadBFloat16((ushort*)source + d), destination + d);
                }

                break;
            case ElementType.F16:
                for (; d + TV.Count <= count; d += TV.Count)
                {
                    TV.Store(TV.LoadHalf((ushort*)source + d), destination + d);
                }

                break;
        }

        for (; d < count; d++)
        {
            destination[d] = Read(source, type, d);
        }

        for (; d < paddedCount; d++)
        {
            destination[d] = 0;
        }
    }

    private static float Read(byte* source, ElementType type, long index) => type switch
    {
        ElementType.F32 => ((float*)source)[index],
        ElementType.F16 => ElementConvert.HalfToSingle(((ushort*)source)[index]),
        _ => ElementConvert.BFloat16ToSingle(((ushort*)source)[index]),
    };
}
