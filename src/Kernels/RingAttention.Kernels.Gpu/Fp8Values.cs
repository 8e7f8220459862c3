namespace RingAttention.Kernels.Gpu;

/// <summary>
/// V in the layout the FP8 Hopper kernel reads (gen_hopper.py): transposed to <c>[kv head][dim][key]</c>, because
/// wgmma takes an FP8 B operand only K-major (keys contiguous), and with the keys of every 16 permuted so that the P
/// fragment needs no data movement between lanes. Lane t of a quad holds P for keys 2t, 2t+1, 8+2t, 9+2t of a 16-key
/// group (the f32 accumulator layout) where the FP8 A fragment wants k-slots 4t..4t+3: key <c>8a + 2t + b</c> is
/// stored at slot <c>4t + 2a + b</c>. P·V sums over keys, so the same permutation on both sides leaves it unchanged.
/// Keys are padded to a multiple of 16 with zeros (a NaN code under a zero P would still poison the sum).
/// </summary>
public static class Fp8Values
{
    /// <summary>Keys of the transposed copy: <paramref name="keys"/> rounded up to whole 16-key groups.</summary>
    public static long PaddedKeys(long keys) => (keys + 15) & ~15L;

    /// <summary>The slot within its 16-key group where key <paramref name="key"/> (0..15) is stored.</summary>
    public static int Slot(int key) => (4 * ((key & 7) >> 1)) + (2 * (key >> 3)) + (key & 1);

    /// <summary>
    /// <paramref name="values"/> rows <c>[keys, kvHeads, headDim]</c> of e4m3 codes into <paramref name="transposed"/>
    /// <c>[kvHeads, headDim, PaddedKeys(keys)]</c>.
    /// </summary>
    public static void Transpose(ReadOnlySpan<byte> values, int kvHeads, int headDim, Span<byte> transposed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(kvHeads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(headDim, 1);
        long rowBytes = (long)kvHeads * headDim;
        if (values.Length % rowBytes != 0)
        {
            throw new ArgumentException($"{values.Length} bytes are not whole rows of {kvHeads} x {headDim}", nameof(values));
        }

        long keys = values.Length / rowBytes, padded = PaddedKeys(keys);
        if (transposed.Length != rowBytes * padded)
        {
            throw new ArgumentException($"the transposed copy takes {rowBytes * padded} bytes, not {transposed.Length}", nameof(transposed));
        }

        transposed.Clear();
        for (long key = 0; key < keys; key++)
        {
            long column = (key & ~15L) + Slot((int)(key & 15));
            var row = values.Slice((int)(key * rowBytes), (int)rowBytes);
            for (int i = 0; i < row.Length; i++)
            {
                // i = kvHead * headDim + dim: its transposed row
                transposed[(int)((i * padded) + column)] = row[i];
            }
        }
    }
}
