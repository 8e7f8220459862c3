using RingAttention.Attention;
using RingAttention.Grains;

namespace RingAttention.Cli.Reports;

/// <summary>The figures of a finished job, as the CLI prints them and as --json carries them.</summary>
public sealed record JobReport(
    string Job,
    string Output,
    int Tokens,
    int Shards,
    string Backends,
    double WallSeconds,
    double TokensPerSecond,
    double Gflop,
    double GflopPerSecond,
    double KernelSeconds,
    double WaitSeconds,
    double LoadSeconds,
    double WriteSeconds,
    long BytesMoved,
    int RemoteTransfers,
    int LocalHandoffs,
    int Attempts,
    string? Note,
    double RingSeconds,
    int PeerCopies,
    long PeerBytes,
    int StagedCopies,
    int ProcessCopies,
    long ProcessBytes,
    double BeforeRingSeconds,
    double AfterRingSeconds,
    string Attention = "softmax",
    long StateBytes = 0,
    int StatesSent = 0)
{
    public static JobReport From(JobStatus status)
    {
        var spec = status.Spec!;
        // A job with its own queries file: n queries at their positions against Tk keys, not Tk against Tk.
        // Linear attention is measured in tokens/s; softmax attention's pair count does not describe its work.
        double flops = spec.Attention == AttentionKind.Linear ? 0
            : spec.QueriesPath is null
            ? AttentionFlops.Count(spec.ToAttentionSpec())
            : 4.0 * AttentionFlops.VisiblePairs(spec.FirstQueryPosition, spec.Queries, spec.Tokens, spec.Mask) * spec.Heads * spec.HeadDim;
        return new(status.JobId, status.OutputPath ?? spec.OutputPath ?? "", status.Tokens, status.Shards, status.Backends,
            status.ElapsedSeconds, spec.Queries / status.ElapsedSeconds, flops / 1e9, flops / status.ElapsedSeconds / 1e9,
            status.Totals.ComputeSeconds, status.Totals.WaitSeconds, status.Totals.LoadSeconds, status.Totals.WriteSeconds,
            status.Totals.BytesMoved, status.Totals.RemoteTransfers, status.Totals.LocalHandoffs, status.Attempts, status.Note,
            status.Totals.RingSeconds, status.Totals.PeerCopies, status.Totals.PeerBytes, status.Totals.StagedCopies,
            status.Totals.ProcessCopies, status.Totals.ProcessBytes,
            Phase(status.StartedAtTicks, status.Totals.RingStartTicks),
            Phase(status.Totals.RingEndTicks, status.StartedAtTicks + TimeSpan.FromSeconds(status.ElapsedSeconds).Ticks),
            spec.Attention == AttentionKind.Linear ? "linear" : "softmax", status.Totals.StateBytes, status.Totals.StatesSent);
    }

    /// <summary>Seconds between two UTC tick marks, 0 where either is missing (a job from before the marks existed). The
    /// marks come from the coordinator's and the shards' silo clocks: one host's clock, or NTP-close ones.</summary>
    private static double Phase(long fromTicks, long toTicks) =>
        fromTicks > 0 && toTicks > fromTicks && toTicks - fromTicks < TimeSpan.TicksPerDay ? (toTicks - fromTicks) / (double)TimeSpan.TicksPerSecond : 0;
}
