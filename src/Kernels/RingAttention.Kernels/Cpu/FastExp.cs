using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// e^x for x ≤ 0 on whole vectors (Cephes expf): x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·ln2 is
/// exact), e^r by a degree-7 polynomial (max relative error ~1.2e-7, i.e. 1-2 ulp), times 2^n built in the exponent
/// bits. 13 vector ops per 16 values against the 2·headDim FMAs each score costs in the two products (256 at
/// headDim 128), where the runtime's Vector512.Exp widens to double. Arguments below -87.3 (including -inf,
/// the masked scores) give exactly 0, so a masked key never contributes.
/// </summary>
internal static class FastExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    private const float Underflow = -87.3f; // e^-87.3 ≈ 1.2e-38 = smallest normal float

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Exp<TV>(TV x)
        where TV : struct, ISimd<TV>
    {
        TV clamped = TV.Max(x, TV.Create(Underflow));
        TV n = TV.Round(TV.Multiply(clamped, TV.Create(Log2E)));
        TV r = TV.Fma(n, TV.Create(-Ln2High), clamped);
        r = TV.Fma(n, TV.Create(-Ln2Low), r);
        TV p = TV.Fma(TV.Create(1.9875691500E-4f), r, TV.Create(1.3981999507E-3f));
        p = TV.Fma(p, r, TV.Create(8.3334519073E-3f));
        p = TV.Fma(p, r, TV.Create(4.1665795894E-2f));
        p = TV.Fma(p, r, TV.Create(1.6666665459E-1f));
        p = TV.Fma(p, r, TV.Create(5.0000001201E-1f));
        p = TV.Fma(p, TV.Multiply(r, r), TV.Add(r, TV.Create(1f)));
        return TV.SelectLess(x, TV.Create(Underflow), default, TV.Multiply(p, TV.Pow2(n)));
    }
}
