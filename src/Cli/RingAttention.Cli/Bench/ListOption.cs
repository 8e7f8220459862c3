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

    /// <summary>A query/kv head pair "HQ/HKV" (32/8 is GQA 4:1), refused naming --heads.</summary>
    public static (int Heads, int KvHeads) HeadPair(string text)
    {
        string[] pair = text.Split('/');
        return pair.Length == 2 && int.TryParse(pair[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int hq)
            && int.TryParse(pair[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int hkv)
            ? (hq, hkv)
            : throw new SpecValidationException("heads", $"--heads: '{text}' is not HQ/HKV (e.g. 32/8)");
    }
}
