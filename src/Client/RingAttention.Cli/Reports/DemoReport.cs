namespace RingAttention.Cli.Reports;

/// <summary><c>demo --json</c>: the job and its verification.</summary>
public sealed record DemoReport(string Inputs, JobReport Job, VerificationSummary Verification, string? Log);
