using System.Globalization;
using RingAttention.Attention;

namespace RingAttention.Cli.Bench;

/// <summary>Comma-separated option values ("4096,16384"), refused with the flag's name when one does not parse.</summary>
public static class ListOption
{
    public static int[] Ints(string flag, string text) =>
        [.. Items(text).Select(item => int.TryParse(item, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value > 0
            ? value
            : throw new SpecValidationException(flag.TrimStart('-'), $"{flag}: '{item}' is not a positive integer"))];

    public static string[] Items(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
