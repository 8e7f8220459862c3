using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using RingAttention.Kernels.Cpu;

namespace RingAttention.Bench.Cpu;

/// <summary>
/// A square fp32 GEMM C = A·B through the same register-blocked micro-kernel the attention products use: B is
/// packed per (256-deep, 4-vector-wide) panel so each panel (64 KiB at AVX-512) sits in L2 while all rows of A
/// stream past it; threads split the column panels. It is the "how fast can this micro-kernel multiply matrices"
/// line that attention is compared with, next to the raw FMA peak.
/// </summary>
internal static unsafe class SgemmBench
{
    private const int DepthBlock = 256;

    public static double Flops(int size) => 2.0 * size * size * size;

    public static Measurement Measure(int size, int threads, int warmups, int runs)
    {
        return Vector512.IsHardwareAccelerated
            ? Run<Simd512>(size, threads, warmups, runs)
            : Run<Simd256>(size, threads, warmups, runs);
    }

    private static Measurement Run<TV>(int n, int threads, int warmups, int runs)
        where TV : struct, ISimd<TV>
    {
        int panel = 4 * TV.Count;
        if (n % panel != 0 || n % DepthBlock != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(n), n, $"GEMM size must be a multiple of {panel} and {DepthBlock}");
        }

        nuint bytes = (nuint)n * (nuint)n * sizeof(float);
        float* a = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        float* b = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        float* c = (float*)NativeMemory.AlignedAlloc(bytes, 64);
        try
        {
            var random = new Random(1);
            for (long i = 0; i < (long)n * n; i++)
            {
                a[i] = random.NextSingle() - 0.5f;
                b[i] = random.NextSingle() - 0.5f;
            }

            return Timing.Median(warmups, runs, threads, () => { }, () => Multiply<TV>(a, b, c, n, panel, threads));
        }
        finally
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(c);
        }
    }

    private static void Multiply<TV>(float* a, float* b, float* c, int n, int panel, int threads)
        where TV : struct, ISimd<TV>
    {
        Parallel.For(
            0,
            n / panel,
            new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => (nint)NativeMemory.AlignedAlloc((nuint)(DepthBlock * panel * sizeof(float)), 64),
            (p, _, packedAddress) =>
            {
                float* packed = (float*)packedAddress;
                int column = p * panel;
                for (int k0 = 0; k0 < n; k0 += DepthBlock)
                {
                    for (int k = 0; k < DepthBlock; k++)
                    {
                        Buffer.MemoryCopy(b + ((long)(k0 + k) * n) + column, packed + (k * panel), panel * sizeof(float), panel * sizeof(float));
                    }

                    TileGemm<TV>.Multiply(n, 4, a + k0, n, 1, packed, panel, 0, c + column, n, DepthBlock, accumulate: k0 > 0);
                }

                return packedAddress;
            },
            packedAddress => NativeMemory.AlignedFree((void*)packedAddress));
    }
}
