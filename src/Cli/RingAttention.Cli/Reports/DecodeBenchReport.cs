using RingAttention.Cli.Bench;

namespace RingAttention.Cli.Reports;

/// <summary><c>bench decode --json</c>: the device and one timing per shape and split kernel.</summary>
public sealed record DecodeBenchReport(string Device, IReadOnlyList<DecodeTiming> Results);
