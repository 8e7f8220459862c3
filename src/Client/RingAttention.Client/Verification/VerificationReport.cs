using RingAttention.Tensors;

namespace RingAttention.Client.Verification;

/// <summary>Outcome of checking sampled output rows against a float64 reference.</summary>
/// <param name="RowsChecked">Query tokens checked (every head of each).</param>
/// <param name="MaxOutputError">Largest |o - o_ref| / max|v|.</param>
/// <param name="MaxLseError">Largest |lse - lse_ref| / max(1, |lse_ref|).</param>
/// <param name="Tolerance">The limits applied (by dtype).</param>
/// <param name="Failure">The first element outside tolerance, or null.</param>
public sealed record VerificationReport(
    int RowsChecked,
    int Heads,
    ElementType DType,
    double MaxOutputError,
    double MaxLseError,
    Attention.ReferenceAttention.Tolerance Tolerance,
    string? Failure)
{
    public bool Passed => Failure is null;
}
