using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Tests;

public unsafe class SimdPrimitivesTests
{
    [Fact]
    public void LoadHalf_All65536Values_ExactlyAsScalarConversion()
    {
        AssertAllHalves<Simd512>();
        AssertAllHalves<Simd256>();
    }

    [Fact]
    public void LoadBFloat16_SampledValues_ExactlyAsScalarConversion()
    {
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++)
        {
            bits[i] = (ushort)i;
        }

        var widened = new float[bits.Length];
        fixed (ushort* source = bits)
        fixed (float* destination = widened)
        {
            for (int i = 0; i < bits.Length; i += Simd512.Count)
            {
                Simd512.Store(Simd512.LoadBFloat16(source + i), destination + i);
            }
        }

        for (int i = 0; i < bits.Length; i++)
        {
            Assert.Equal(BitConverter.SingleToInt32Bits(ElementConvert.BFloat16ToSingle(bits[i])), BitConverter.SingleToInt32Bits(widened[i]));
        }
    }

    [Fact]
    public void FastExp2_NonPositiveArguments_WithinThreeUlpAndMinusInfIsZero()
    {
        var x = new float[4096 + 16]; // whole vectors only
        for (int i = 0; i < 4096; i++)
        {
            x[i] = -126f * i / 4095f;
        }

        x[4096] = float.NegativeInfinity;
        x[4097] = -1000f;
        x[4098] = -127f;
        x[4099] = 0f;
        var y = new float[x.Length];
        fixed (float* input = x)
        fixed (float* output = y)
        {
            for (int i = 0; i < x.Length; i += Simd512.Count)
            {
                Simd512.Store(FastExp2.Exp2(Simd512.Load(input + i)), output + i);
            }
        }

        for (int i = 0; i < 4096; i++)
        {
            double exact = Math.Pow(2, x[i]);
            Assert.True(Math.Abs(y[i] - exact) <= 2e-7 * exact, $"2^{x[i]} = {y[i]}, exact {exact}");
        }

        Assert.Equal(0f, y[4096]);
        Assert.Equal(0f, y[4097]);
        Assert.Equal(0f, y[4098]);
        Assert.Equal(1f, y[4099]);
    }

    private static void AssertAllHalves<TV>()
        where TV : struct, ISimd<TV>
    {
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++)
        {
            bits[i] = (ushort)i;
        }

        var widened = new float[bits.Length];
        fixed (ushort* source = bits)
        fixed (float* destination = widened)
        {
            for (int i = 0; i < bits.Length; i += TV.Count)
            {
                TV.Store(TV.LoadHalf(source + i), destination + i);
            }
        }

        for (int i = 0; i < bits.Length; i++)
        {
            float expected = ElementConvert.HalfToSingle(bits[i]);
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(widened[i]), $"half 0x{i:X4} must stay NaN, got {widened[i]}");
            }
            else
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(widened[i]));
            }
        }
    }
}
