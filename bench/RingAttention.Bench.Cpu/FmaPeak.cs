using System.Runtime.Intrinsics;
using System.Diagnostics;
using RingAttention.Kernels.Cpu;

namespace RingAttention.Bench.Cpu;

/// <summary>
/// The machine's fp32 FMA ceiling as this runtime can reach it: every core runs 12 independent FMA chains on
/// registers (no memory traffic), enough to cover FMA latency × pipes (4 × 2 on Zen 5, 4 × 2 on Skylake-SP).
/// </summary>
internal static class FmaPeak
{
    private const int Chains = 12;

    /// <returns>GFLOP/s by wall time, and by CPU time (see <see cref="Measurement.CpuTimePerRun"/>).</returns>
    public static (double Wall, double Cpu) Measure(int threads, TimeSpan duration)
    {
        return Vector512.IsHardwareAccelerated ? Run<Simd512>(threads, duration) : Run<Simd256>(threads, duration);
    }

    private static (double Wall, double Cpu) Run<TV>(int threads, TimeSpan duration)
        where TV : struct, ISimd<TV>
    {
        Loop<TV>(1_000_000); // JIT to the optimised tier before timing
        long iterations = 1_000_000;
        var watch = Stopwatch.StartNew();
        Loop<TV>(iterations);
        iterations = Math.Max(1, (long)(iterations * duration.TotalSeconds / watch.Elapsed.TotalSeconds));

        var time = Timing.Median(0, 3, threads, () => { }, () =>
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => Loop<TV>(iterations)));
        double flops = threads * iterations * Chains * TV.Count * 2.0;
        return (flops / time.Median.TotalSeconds / 1e9, flops / time.CpuTimePerRun.TotalSeconds / 1e9);
    }

    private static float Loop<TV>(long iterations)
        where TV : struct, ISimd<TV>
    {
        TV a = TV.Create(0.999999f), b = TV.Create(1e-7f);
        TV c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        TV c6 = default, c7 = default, c8 = default, c9 = default, c10 = default, c11 = default;
        for (long i = 0; i < iterations; i++)
        {
            c0 = TV.Fma(c0, a, b);
            c1 = TV.Fma(c1, a, b);
            c2 = TV.Fma(c2, a, b);
            c3 = TV.Fma(c3, a, b);
            c4 = TV.Fma(c4, a, b);
            c5 = TV.Fma(c5, a, b);
            c6 = TV.Fma(c6, a, b);
            c7 = TV.Fma(c7, a, b);
            c8 = TV.Fma(c8, a, b);
            c9 = TV.Fma(c9, a, b);
            c10 = TV.Fma(c10, a, b);
            c11 = TV.Fma(c11, a, b);
        }

        var sum = TV.Add(TV.Add(TV.Add(c0, c1), TV.Add(c2, c3)), TV.Add(TV.Add(c4, c5), TV.Add(c6, c7)));
        sum = TV.Add(sum, TV.Add(TV.Add(c8, c9), TV.Add(c10, c11)));
        unsafe
        {
            float* lanes = stackalloc float[TV.Count];
            TV.Store(sum, lanes);
            return lanes[0];
        }
    }
}
