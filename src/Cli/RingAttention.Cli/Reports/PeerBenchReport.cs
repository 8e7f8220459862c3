namespace RingAttention.Cli.Reports;

/// <summary>One device-to-device hand-off timing: median of the copies of one block size in one direction.</summary>
/// <param name="Staged">The two devices cannot reach each other (no peer access): not timed.</param>
public sealed record PeerTiming(string From, string To, int Mib, long Bytes, bool Staged, double MedianMs, double Gbps);

/// <summary>What <c>ringattn bench peer --json</c> prints.</summary>
public sealed record PeerBenchReport(string Devices, IReadOnlyList<PeerTiming> Results);
