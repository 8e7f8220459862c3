namespace RingAttention.Contracts.Sessions;

/// <summary>
/// Rows to append to a session (chunked prefill): k and v <c>[n, Hkv, D]</c> from a safetensors file, at the next n
/// positions; with q <c>[n, Hq, D]</c> in the file and an <see cref="OutputPath"/>, the new rows' o and lse against
/// everything cached (themselves included) are written there.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionRows")]
public sealed record SessionRows
{
    [Id(0)] public string InputPath { get; init; } = "";

    [Id(1)] public string? OutputPath { get; init; }

    [Id(2)] public bool Overwrite { get; init; }

    /// <summary>
    /// The session's length this append expects to start at, making it safe to repeat: an append already applied (the
    /// session is this many tokens plus the file's, and its last segment came from this same file, unchanged) returns
    /// the session's status without appending again; any other length refuses it. Null: append at whatever the length is
    /// (the SDK fills it in, so that it can retry an append whose answer was lost).
    /// </summary>
    [Id(3)] public int? AfterTokens { get; init; }
}
