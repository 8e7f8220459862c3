using RingAttention.Tensors;

namespace RingAttention.Core.Tests;

/// <summary>The bulk (vectorised, parallel) conversion equals the scalar one bit for bit, special values included.</summary>
public sealed class ElementConvertBulkTests
{
    [Theory]
    [InlineData(ElementType.BF16, 1)]
    [InlineData(ElementType.BF16, 17)]
    [InlineData(ElementType.BF16, (1 << 18) * 3 + 21)] // several parallel pieces and a vector tail
    [InlineData(ElementType.F16, (1 << 18) + 5)]
    [InlineData(ElementType.F32, 1001)]
    public void FromSingle_EqualsScalarWrite(ElementType type, int count)
    {
        var rng = new Random(count);
        float[] values = new float[count];
        float[] specials =
        [
            float.NaN, -float.NaN, BitConverter.Int32BitsToSingle(0x7F80_0001), float.PositiveInfinity, float.NegativeInfinity,
            0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue,
            BitConverter.Int32BitsToSingle(0x3F80_8000), BitConverter.Int32BitsToSingle(0x3F81_8000), // bf16 ties: to even, both ways
            BitConverter.Int32BitsToSingle(0x7F7F_FFFF), 65520f, 6.1e-5f, 5.9e-8f,
        ];
        for (int i = 0; i < count; i++)
        {
            values[i] = i < specials.Length && rng.Next(2) == 0
                ? specials[i]
                : BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue)) is var f && float.IsFinite(f) && rng.Next(4) > 0
                    ? (float)(rng.NextDouble() * 8 - 4)
                    : BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
        }

        for (int i = 0; i < Math.Min(count, specials.Length); i++)
        {
            values[count - 1 - i] = specials[i]; // specials in the vector body and in the tail
        }

        byte[] bulk = new byte[count * type.Size()];
        byte[] scalar = new byte[count * type.Size()];
        ElementConvert.FromSingle(values, type, bulk);
        for (int i = 0; i < count; i++)
        {
            ElementConvert.Write(scalar, type, i, values[i]);
        }

        Assert.Equal(scalar, bulk);
    }
}
