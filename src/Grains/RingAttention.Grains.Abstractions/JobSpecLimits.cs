using RingAttention.Attention;

namespace RingAttention.Contracts;

/// <summary>
/// Limits on what a job spec may carry over the wire, checked by the client before it sends and by the coordinator
/// when it receives: a spec is a few hundred bytes, so anything near Orleans' message limit is a mistake or an attack.
/// </summary>
public static class JobSpecLimits
{
    /// <summary>Longest input or output path (Linux PATH_MAX).</summary>
    public const int MaxPathLength = 4096;

    public static void Check(JobSpec spec)
    {
        CheckPath("inputs", spec.InputPath);
        CheckPath("output", spec.OutputPath);
    }

    private static void CheckPath(string field, string? path)
    {
        if (path is not null && path.Length > MaxPathLength)
        {
            throw new SpecValidationException(field, $"path of {path.Length} characters exceeds {MaxPathLength}");
        }
    }
}
