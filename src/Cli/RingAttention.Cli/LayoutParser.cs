using RingAttention.Attention;
using RingAttention.Grains;
using RingAttention.Tensors;

namespace RingAttention.Cli;

/// <summary>Parses option text into the SDK's enums, with errors that name the option.</summary>
public static class LayoutParser
{
    public static ShardLayout Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "contiguous" => ShardLayout.Contiguous,
        "zigzag" => ShardLayout.Zigzag,
        _ => throw new SpecValidationException("layout", $"layout '{text}' must be contiguous or zigzag"),
    };

    public static ElementType ParseDType(string text) => ElementTypeExtensions.TryParseUser(text, out var type)
        ? type
        : throw new SpecValidationException("dtype", $"dtype '{text}' is not supported; use f32, f16 or bf16");
}
