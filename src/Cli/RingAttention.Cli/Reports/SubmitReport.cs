namespace RingAttention.Cli.Reports;

/// <summary><c>run --detach --json</c>: the id of the job that runs on without this process.</summary>
public sealed record SubmitReport(string Job, string Output);
