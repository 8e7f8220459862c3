using System.Diagnostics;

namespace RingAttention.Bench.Cpu;

/// <summary>
/// Stopwatch harness: warm-up runs (JIT tiers, page faults, thread pool growth) are discarded, then the median of
/// the timed runs is reported. BenchmarkDotNet is not used here on purpose: one full-size case runs for seconds,
/// and its pilot, overhead and multi-iteration stages would multiply the 16 cases far past the 10-minute budget,
/// while the run-to-run spread of multi-second runs is already small enough that a median of a few is stable.
/// </summary>
internal static class Timing
{
    public static TimeSpan Median(int warmups, int runs, Action setup, Action body)
    {
        for (int i = 0; i < warmups; i++)
        {
            setup();
            body();
        }

        var times = new List<TimeSpan>(runs);
        for (int i = 0; i < runs; i++)
        {
            setup();
            var watch = Stopwatch.StartNew();
            body();
            times.Add(watch.Elapsed);
        }

        times.Sort();
        return runs % 2 == 1 ? times[runs / 2] : (times[(runs / 2) - 1] + times[runs / 2]) / 2;
    }
}
