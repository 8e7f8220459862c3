using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace RingAttention.Kernels.Cpu;

/// <summary>
/// The few float SIMD operations the kernels need, over one vector width chosen at run time.
/// Kernels are generic over <typeparamref name="TSelf"/> (a struct), so the JIT compiles one specialised copy per
/// width with every call inlined: measured on the Zen 5 dev box, a 12-accumulator FMA loop through this wrapper ran
/// at 261-270 GFLOP/s per core against 263-271 for raw <see cref="Vector512{T}"/> (noise).
/// </summary>
internal unsafe interface ISimd<TSelf>
    where TSelf : struct, ISimd<TSelf>
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    static abstract TSelf Create(float value);

    static abstract TSelf Load(float* source);

    static abstract void Store(TSelf value, float* destination);

    /// <summary>a·b + c with one rounding.</summary>
    static abstract TSelf Fma(TSelf a, TSelf b, TSelf c);

    static abstract TSelf Add(TSelf a, TSelf b);

    static abstract TSelf Subtract(TSelf a, TSelf b);

    static abstract TSelf Multiply(TSelf a, TSelf b);

    /// <summary>The hardware max (maxps): one instruction, where IEEE-754 maximum costs three on x64; NaN handling unspecified.</summary>
    static abstract TSelf Max(TSelf a, TSelf b);

    /// <summary>Lane-wise a &lt; b ? whenTrue : whenFalse.</summary>
    static abstract TSelf SelectLess(TSelf a, TSelf b, TSelf whenTrue, TSelf whenFalse);

    /// <summary>True when every lane of a equals the same lane of b.</summary>
    static abstract bool AllEqual(TSelf a, TSelf b);

    /// <summary>0, 1, 2, ... Count-1.</summary>
    static abstract TSelf Indices { get; }

    /// <summary>The lanes' bits shifted left by 23 (into the float exponent field), reinterpreted as float.</summary>
    static abstract TSelf ShiftIntoExponent(TSelf value);

    /// <summary>Count bfloat16 values widened to float (exact: bf16 is the top half of an f32).</summary>
    static abstract TSelf LoadBFloat16(ushort* source);

    /// <summary>Count IEEE half values widened to float (exact, including subnormals, inf and NaN).</summary>
    static abstract TSelf LoadHalf(ushort* source);
}

/// <summary>AVX-512 (16 floats). Chosen when <see cref="Vector512.IsHardwareAccelerated"/>.</summary>
internal readonly unsafe struct Simd512 : ISimd<Simd512>
{
    private readonly Vector512<float> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Simd512(Vector512<float> v) => _v = v;

    public static int Count => Vector512<float>.Count;

    public static Simd512 Indices => new(Vector512<float>.Indices);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Create(float value) => new(Vector512.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Load(float* source) => new(Vector512.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd512 value, float* destination) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Fma(Simd512 a, Simd512 b, Simd512 c) => new(Vector512.FusedMultiplyAdd(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Add(Simd512 a, Simd512 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Subtract(Simd512 a, Simd512 b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Multiply(Simd512 a, Simd512 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 Max(Simd512 a, Simd512 b) => new(Vector512.MaxNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 SelectLess(Simd512 a, Simd512 b, Simd512 whenTrue, Simd512 whenFalse) =>
        new(Vector512.ConditionalSelect(Vector512.LessThan(a._v, b._v), whenTrue._v, whenFalse._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllEqual(Simd512 a, Simd512 b) => Vector512.EqualsAll(a._v, b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 ShiftIntoExponent(Simd512 value) => new(Vector512.ShiftLeft(value._v.AsInt32(), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 LoadBFloat16(ushort* source) =>
        new(Vector512.ShiftLeft(Vector512.WidenLower(Vector256.Load(source).ToVector512Unsafe()), 16).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd512 LoadHalf(ushort* source) =>
        new(HalfBits.ToSingle(Vector512.WidenLower(Vector256.Load(source).ToVector512Unsafe())));
}

/// <summary>AVX2 / 256-bit fallback (8 floats).</summary>
internal readonly unsafe struct Simd256 : ISimd<Simd256>
{
    private readonly Vector256<float> _v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Simd256(Vector256<float> v) => _v = v;

    public static int Count => Vector256<float>.Count;

    public static Simd256 Indices => new(Vector256<float>.Indices);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Create(float value) => new(Vector256.Create(value));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Load(float* source) => new(Vector256.Load(source));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Simd256 value, float* destination) => value._v.Store(destination);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Fma(Simd256 a, Simd256 b, Simd256 c) => new(Vector256.FusedMultiplyAdd(a._v, b._v, c._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Add(Simd256 a, Simd256 b) => new(a._v + b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Subtract(Simd256 a, Simd256 b) => new(a._v - b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Multiply(Simd256 a, Simd256 b) => new(a._v * b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 Max(Simd256 a, Simd256 b) => new(Vector256.MaxNative(a._v, b._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 SelectLess(Simd256 a, Simd256 b, Simd256 whenTrue, Simd256 whenFalse) =>
        new(Vector256.ConditionalSelect(Vector256.LessThan(a._v, b._v), whenTrue._v, whenFalse._v));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool AllEqual(Simd256 a, Simd256 b) => Vector256.EqualsAll(a._v, b._v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 ShiftIntoExponent(Simd256 value) => new(Vector256.ShiftLeft(value._v.AsInt32(), 23).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 LoadBFloat16(ushort* source) =>
        new(Vector256.ShiftLeft(Vector256.WidenLower(Vector128.Load(source).ToVector256Unsafe()), 16).AsSingle());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Simd256 LoadHalf(ushort* source) =>
        new(HalfBits.ToSingle(Vector256.WidenLower(Vector128.Load(source).ToVector256Unsafe())));
}
