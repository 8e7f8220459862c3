namespace RingAttention.Contracts.Sessions;

/// <summary>Why a session call was refused: the field (in the user's vocabulary) and the rule, with the numbers.</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.SessionRefusal")]
public sealed record SessionRefusal(
    [property: Id(0)] string Field,
    [property: Id(1)] string Message);
