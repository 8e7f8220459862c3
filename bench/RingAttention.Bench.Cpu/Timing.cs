using System.Diagnostics;

namespace RingAttention.Bench.Cpu;

/// <summary>Median wall time of the timed runs, and the share of the machine this process got meanwhile.</summary>
/// <param name="Median">Median wall-clock time of one run.</param>
/// <param name="CpuShare">Process CPU time / (wall time × threads) over the timed runs: below ~0.95 means
/// something else ran on the cores (the dev box is shared), so the rate understates the kernel.</param>
/// <param name="CpuTimePerRun">Process CPU time per run divided by threads: the wall time the run would take with
/// the cores to itself (preempted threads accrue no CPU time), an estimator that survives a shared machine.</param>
internal readonly record struct Measurement(TimeSpan Median, double CpuShare, TimeSpan CpuTimePerRun);

/// <summary>
/// Stopwatch harness: warm-up runs (JIT tiers, page faults, thread pool growth) are discarded, then the median of
/// the timed runs is reported. BenchmarkDotNet is not used here on purpose: one full-size case runs for seconds,
/// and its pilot, overhead and multi-iteration stages would multiply the 16 cases far past the 10-minute budget,
/// while the run-to-run spread of multi-second runs is already small enough that a median of a few is stable.
/// </summary>
internal static class Timing
{
    public static Measurement Median(int warmups, int runs, int threads, Action setup, Action body)
    {
        for (int i = 0; i < warmups; i++)
        {
            setup();
            body();
        }

        var times = new List<TimeSpan>(runs);
        var process = Process.GetCurrentProcess();
        var cpu = TimeSpan.Zero;
        for (int i = 0; i < runs; i++)
        {
            setup();
            process.Refresh();
            var cpuBefore = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            body();
            times.Add(watch.Elapsed);
            process.Refresh();
            cpu += process.TotalProcessorTime - cpuBefore;
        }

        double share = cpu.TotalSeconds / (times.Sum(t => t.TotalSeconds) * threads);
        times.Sort();
        var median = runs % 2 == 1 ? times[runs / 2] : (times[(runs / 2) - 1] + times[runs / 2]) / 2;
        return new Measurement(median, share, cpu / (runs * threads));
    }
}
