namespace RingAttention.Tensors;

/// <summary>Row-major shape arithmetic shared by the safetensors reader and writer.</summary>
public static class ShapeMath
{
    /// <summary>Product of the dimensions (1 for shape []); throws <see cref="OverflowException"/> past long.</summary>
    public static long ElementCount(ReadOnlySpan<long> shape)
    {
        long count = 1;
        foreach (long dim in shape)
        {
            count = checked(count * dim);
        }

        return count;
    }

    /// <summary>The multi-dimensional index of row-major flat index <paramref name="flat"/> in <paramref name="shape"/>.</summary>
    public static long[] Unravel(long flat, ReadOnlySpan<long> shape)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] == 0)
            {
                throw new ArgumentOutOfRangeException(nameof(shape), "shape has a zero dimension");
            }

            index[d] = flat % shape[d];
            flat /= shape[d];
        }

        return index;
    }

    /// <summary>"[1024, 32, 128]".</summary>
    public static string Format(ReadOnlySpan<long> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";
}
