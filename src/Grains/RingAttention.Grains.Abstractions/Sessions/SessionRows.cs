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
}
