namespace RingAttention.Cli.Reports;

/// <summary><c>demo --json</c>: the job, its verification, and where the rest of the wall time went.</summary>
/// <param name="RuntimeStartSeconds">From the process's start to the command's first line (.NET start-up, parsing).</param>
/// <param name="ClusterStartSeconds">Starting the embedded silos and connecting the client.</param>
public sealed record DemoReport(
    string Inputs, JobReport Job, VerificationSummary Verification, string? Log, double RuntimeStartSeconds, double ClusterStartSeconds);
