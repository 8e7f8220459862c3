namespace RingAttention.Cli.Reports;

/// <summary><c>run --json</c>: the job (the last one with --repeat), every run's wall time, and where the framework logged.</summary>
public sealed record RunReport(JobReport Job, IReadOnlyList<double> WallSeconds, string? Log);
