namespace RingAttention.Silo.Api;

/// <summary>
/// The body of every 4xx answer of the HTTP API: the field at fault (as the CLI and the SDK name it), the rule it broke,
/// and one sentence with both.
/// </summary>
public sealed record ApiError(string Field, string Rule, string Message)
{
    public static ApiError For(string field, string rule) => new(field, rule, $"{field}: {rule}");
}
