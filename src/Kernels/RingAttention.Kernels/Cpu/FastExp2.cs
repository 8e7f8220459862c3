using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// 2^x for x ≤ 0 on whole vectors. The kernels keep scores in log2 units (log2(e) is folded into the query scale),
/// so softmax needs 2^x, the cheapest exponential: adding 1.5·2^23 + 127 rounds x to an integer n inside the
/// float's low mantissa bits, which shifted into the exponent field are already 2^n; 2^(x-n) with |x-n| ≤ 1/2 is
/// Cephes' exp2f polynomial (relative error ~1.7e-7). 12 vector ops per 16 values, against the 2·headDim FMAs
/// each score costs in the two products (256 at headDim 128). Arguments at or below -127, including -inf (masked
/// scores), give exactly 0 (exponent field 0), so a masked key never contributes and no compare is needed.
/// </summary>
internal static class FastExp2
{
    private const float Lowest = -127f;
    private const float RoundingMagic = 12582912f + 127f; // 1.5·2^23 (integer rounding) + 127 (exponent bias)

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp2<TV>(TV x)
        where TV : struct, ISimd<TV>
    {
        x = TV.Max(TV.Create(Lowest), x); // maxps returns its second operand for NaN: a NaN score stays NaN
        TV biased = TV.Add(x, TV.Create(RoundingMagic));
        TV f = TV.Subtract(x, TV.Subtract(biased, TV.Create(RoundingMagic)));
        TV p = TV.Fma(TV.Create(1.535336188319500E-4f), f, TV.Create(1.339887440266574E-3f));
        p = TV.Fma(p, f, TV.Create(9.618437357674640E-3f));
        p = TV.Fma(p, f, TV.Create(5.550332471162809E-2f));
        p = TV.Fma(p, f, TV.Create(2.402264791363012E-1f));
        p = TV.Fma(p, f, TV.Create(6.931472028550421E-1f));
        p = TV.Fma(p, f, TV.Create(1f));
        return TV.Multiply(p, TV.ShiftIntoExponent(biased));
    }
}
