using RingAttention.Attention;

namespace RingAttention.Contracts;

/// <summary>Lets Orleans carry Core's <see cref="TokenSpan"/> (Core stays free of Orleans).</summary>
[GenerateSerializer]
[Alias("RingAttention.TokenSpan")]
public struct TokenSpanSurrogate
{
    [Id(0)] public int Start;

    [Id(1)] public int Count;
}

[RegisterConverter]
public sealed class TokenSpanSurrogateConverter : IConverter<TokenSpan, TokenSpanSurrogate>
{
    public TokenSpan ConvertFromSurrogate(in TokenSpanSurrogate surrogate) => new(surrogate.Start, surrogate.Count);

    public TokenSpanSurrogate ConvertToSurrogate(in TokenSpan value) => new() { Start = value.Start, Count = value.Count };
}
