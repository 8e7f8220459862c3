namespace RingAttention.Attention;

/// <summary>
/// A user error in a job or attention spec: names the field and the rule it broke, e.g.
/// "kvHeads (3) must divide heads (32)". Thrown before any work is scheduled.
/// </summary>
public sealed class SpecValidationException : ArgumentException
{
    public SpecValidationException(string field, string message)
        : base(message, field)
    {
        Field = field;
    }

    /// <summary>The offending field, in the user's vocabulary (e.g. "kvHeads", "inputs.q").</summary>
    public string Field { get; }

    /// <summary>The message without ArgumentException's " (Parameter '...')" suffix.</summary>
    public string Reason => base.Message.Split(" (Parameter", 2)[0];
}
