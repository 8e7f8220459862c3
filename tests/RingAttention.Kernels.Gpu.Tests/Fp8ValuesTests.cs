namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The transposed V of the FP8 Hopper kernel (<see cref="Fp8Values"/>) against the kernel's own rule, stated here from
/// the fragment layouts rather than from the code under test: lane t of a quad packs P for keys 2t, 2t+1, 8+2t, 9+2t
/// of each 16-key group, lowest byte first, into the A fragment's k-slots 4t..4t+3; the B operand's k-slot s of a
/// group must therefore hold that key's V. Every other byte of the padded copy is zero.
/// </summary>
public sealed class Fp8ValuesTests
{
    [Theory]
    [InlineData(1, 1, 8)]
    [InlineData(16, 2, 16)]
    [InlineData(37, 3, 24)]
    [InlineData(130, 2, 128)]
    public void Transpose_EachSlotHoldsTheKeyTheFragmentPacksThere(int keys, int kvHeads, int dim)
    {
        var rng = new Random(keys * dim);
        var v = new byte[keys * kvHeads * dim];
        rng.NextBytes(v);
        long padded = Fp8Values.PaddedKeys(keys);
        Assert.Equal(0, padded % 16);
        Assert.InRange(padded - keys, 0, 15);
        var vt = new byte[kvHeads * dim * padded];
        Array.Fill(vt, (byte)0x7F); // e4m3 NaN: every byte must be written

        Fp8Values.Transpose(v, kvHeads, dim, vt);

        for (long slotBase = 0; slotBase < padded; slotBase += 16)
        {
            for (int lane = 0; lane < 4; lane++)
            {
                int[] packed = [2 * lane, (2 * lane) + 1, 8 + (2 * lane), 9 + (2 * lane)];
                for (int i = 0; i < 4; i++)
                {
                    long slot = slotBase + (4 * lane) + i, key = slotBase + packed[i];
                    for (int h = 0; h < kvHeads; h++)
                    {
                        for (int d = 0; d < dim; d++)
                        {
                            byte expected = key < keys ? v[(((key * kvHeads) + h) * dim) + d] : (byte)0;
                            Assert.True(expected == vt[(((h * dim) + d) * padded) + slot], $"kv head {h} dim {d} slot {slot} (key {key})");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Transpose_WrongSizes_ThrowNamingTheArgument()
    {
        Assert.Equal("values", Assert.Throws<ArgumentException>(() => Fp8Values.Transpose(new byte[10], 2, 4, new byte[128])).ParamName);
        Assert.Equal("transposed", Assert.Throws<ArgumentException>(() => Fp8Values.Transpose(new byte[16], 2, 4, new byte[64])).ParamName);
    }
}
