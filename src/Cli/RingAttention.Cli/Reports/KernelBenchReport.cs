using RingAttention.Cli.Bench;

namespace RingAttention.Cli.Reports;

/// <summary><c>bench kernel --json</c>: the device and one timing per shape.</summary>
public sealed record KernelBenchReport(string Device, IReadOnlyList<KernelTiming> Results);
