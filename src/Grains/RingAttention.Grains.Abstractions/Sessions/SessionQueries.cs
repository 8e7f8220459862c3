using RingAttention.Tensors;

namespace RingAttention.Contracts.Sessions;

/// <summary>
/// Query rows to attend against everything a session has cached: q <c>[Rows, Hq, D]</c> row-major in
/// <see cref="Type"/> (any of f32, f16, bf16; converted to the session's type) at global positions
/// <c>[Offset, Offset + Rows)</c>. Offset null: the session's current length (the queries follow the context, as the
/// next decode step's do). Small by design: one message carries them and their answer.
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionQueries")]
public sealed record SessionQueries
{
    /// <summary>Most floats of o one attend returns (64 MiB): split larger query sets, or append them with an output file.</summary>
    public const long MaxOutputFloats = 16L << 20;

    [Id(0)] public ElementType Type { get; init; } = ElementType.F32;

    [Id(1)] public int Rows { get; init; }

    [Id(2)] public byte[] Data { get; init; } = [];

    [Id(3)] public int? Offset { get; init; }
}
