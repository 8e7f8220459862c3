using ILGPU;
using System.Runtime.CompilerServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// exp2 and log2 from float arithmetic only: ILGPU 1.5.3 core has no Exp/Log intrinsic for every backend
/// (the PTX backend rejects MathF.Exp and MathF.Log without ILGPU.Algorithms), and the portable kernel must run anywhere.
/// Relative error about 1e-7 over the ranges the kernels use.
/// </summary>
internal static class SoftMath
{
    private const float Ln2 = 0.693147180559945309f;

    /// <summary>2^x; 0 below -125 (so -inf gives 0); x must be below 128.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp2(float x)
    {
        if (!(x > -125f))
        {
            return 0f;
        }

        int n = (int)(x + 0.5f);
        if (x + 0.5f < n)
        {
            n--;
        }

        // t in [-ln2/2, ln2/2]: degree-7 Taylor series of e^t, error below 1e-8 relative.
        float t = (x - n) * Ln2;
        float p = 1f + (t * (1f + (t * (0.5f + (t * (1f / 6f + (t * (1f / 24f + (t * (1f / 120f + (t * (1f / 720f + (t * (1f / 5040f))))))))))))));
        return p * Interop.IntAsFloat((uint)(n + 127) << 23);
    }

    /// <summary>log2(x) for finite normal x &gt; 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Log2(float x)
    {
        uint bits = Interop.FloatAsInt(x);
        int e = (int)((bits >> 23) & 0xFF) - 127;
        float m = Interop.IntAsFloat((bits & 0x007FFFFFu) | 0x3F800000u);
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e++;
        }

        // ln m = 2 atanh(z), z = (m - 1) / (m + 1), |z| <= 0.1716: series to z^11.
        float z = (m - 1f) / (m + 1f);
        float z2 = z * z;
        float s = z * (2f + (z2 * (2f / 3f + (z2 * (2f / 5f + (z2 * (2f / 7f + (z2 * (2f / 9f + (z2 * (2f / 11f)))))))))));
        return e + (s * 1.44269504088896341f);
    }
}

/// <summary><see cref="SoftMath"/> for the merge in the portable kernel (runs on any accelerator).</summary>
internal readonly struct PortableMath : IMergeMath
{
    public float Exp2(float x) => SoftMath.Exp2(x);

    public float Log2(float x) => SoftMath.Log2(x);
}
