namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The roundings of the emulated mma's P (<see cref="WarpHalfMma{TPair}"/>) against .NET's own conversions: f16 across
/// normal, subnormal, tie and overflow inputs, bf16 to nearest even; and back to float exactly.
/// </summary>
public sealed class HalfPairTests
{
    [Fact]
    public void F16Bits_EqualsSystemHalf()
    {
        var rng = new Random(7);
        var inputs = new List<float> { 0f, -0f, 1f, 65504f, 65519f, 65520f, 1e6f, 6.1035156e-5f, 6.0e-5f, 5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-10f };
        inputs.Add(BitConverter.Int32BitsToSingle(0x3F801000)); // 1 + 2^-11: a tie, rounds to even (1)
        inputs.Add(BitConverter.Int32BitsToSingle(0x3F803000)); // 1 + 3·2^-11: a tie, rounds up
        for (int i = 0; i < 20000; i++)
        {
            inputs.Add((float)(Math.Pow(2, (rng.NextDouble() * 44) - 28) * (rng.Next(2) == 0 ? 1 : -1)));
        }

        foreach (float x in inputs)
        {
            uint expected = BitConverter.HalfToUInt16Bits((Half)x);
            Assert.True(expected == default(F16Pair).Bits(x), $"{x:R}: {default(F16Pair).Bits(x):X4}, .NET {expected:X4}");
            Assert.Equal((float)(Half)x, default(F16Pair).Value(expected));
        }
    }

    [Fact]
    public void Bf16Bits_RoundsToNearestEven()
    {
        var rng = new Random(8);
        for (int i = 0; i < 20000; i++)
        {
            float x = (float)((rng.NextDouble() * 4) - 2);
            uint bits = default(Bf16Pair).Bits(x);
            double got = default(Bf16Pair).Value(bits);
            double below = default(Bf16Pair).Value((uint)(BitConverter.SingleToUInt32Bits(x) >> 16));
            double above = default(Bf16Pair).Value((uint)(BitConverter.SingleToUInt32Bits(x) >> 16) + 1);
            double best = Math.Abs(x - below) <= Math.Abs(above - x) ? below : above;
            Assert.True(Math.Abs(got - x) <= Math.Abs(best - x), $"{x:R} rounded to {got:R}, nearer is {best:R}");
        }

        Assert.Equal(0x3F80u, default(Bf16Pair).Bits(BitConverter.Int32BitsToSingle(0x3F808000))); // tie to even
        Assert.Equal(0x3F82u, default(Bf16Pair).Bits(BitConverter.Int32BitsToSingle(0x3F818000))); // tie, up to even
    }
}
