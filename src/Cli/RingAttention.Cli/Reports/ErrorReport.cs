namespace RingAttention.Cli.Reports;

/// <summary>What <c>--json</c> prints on stdout when a command fails: the flag or field, the rule, the exit code.</summary>
public sealed record ErrorReport(string Error, string? Field, int ExitCode);
