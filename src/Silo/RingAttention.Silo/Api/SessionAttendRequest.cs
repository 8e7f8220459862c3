namespace RingAttention.Silo.Api;

/// <summary>
/// Body of <c>POST /v1/sessions/{id}/attend</c>: q <c>[Rows, Hq, D]</c> row-major as base64 bytes of
/// <see cref="DType"/> (f32, f16 or bf16), at positions <c>[Offset, Offset + Rows)</c> (null: the session's length).
/// </summary>
public sealed record SessionAttendRequest
{
    public string DType { get; init; } = "f32";

    public int Rows { get; init; }

    public string Data { get; init; } = "";

    public int? Offset { get; init; }
}
