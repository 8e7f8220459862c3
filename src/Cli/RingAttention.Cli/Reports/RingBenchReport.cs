namespace RingAttention.Cli.Reports;

/// <summary>One shard count of <c>bench ring</c>: medians over the repeated runs.</summary>
/// <param name="Efficiency">Kernel time at one shard over kernel time at this count (1.0: the ring costs nothing).</param>
public sealed record RingPoint(int Shards, double WallSeconds, double KernelSeconds, double WaitSeconds, double? Efficiency, IReadOnlyList<double> Walls);

/// <summary><c>bench ring --json</c>: the shape, the device, one point per shard count, and the check of the last output.</summary>
public sealed record RingBenchReport(
    string Device, int Tokens, int Heads, int KvHeads, int HeadDim, string Dtype, bool Causal, IReadOnlyList<RingPoint> Results,
    VerificationSummary Verification, string? Log);
