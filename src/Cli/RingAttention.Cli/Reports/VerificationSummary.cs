using RingAttention.Client.Verification;

namespace RingAttention.Cli.Reports;

/// <summary>A verification's outcome and the settings it checked against (from the output's metadata or the flags).</summary>
public sealed record VerificationSummary(
    bool Passed,
    int Rows,
    int Heads,
    string Dtype,
    bool Causal,
    int? Window,
    float? Scale,
    double MaxOutputError,
    double OutputLimit,
    double MaxLseError,
    double LseLimit,
    string? Failure)
{
    public static VerificationSummary From(VerificationReport report, bool causal, int? window, float? scale) =>
        new(report.Passed, report.RowsChecked, report.Heads, report.DType.ToString(), causal, window, scale,
            report.MaxOutputError, report.Tolerance.Output, report.MaxLseError, report.Tolerance.Lse, report.Failure);
}
