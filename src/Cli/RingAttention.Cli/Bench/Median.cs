namespace RingAttention.Cli.Bench;

/// <summary>The median the CLI reports for repeated runs: the middle value, the upper one of the two for an even count.</summary>
public static class Median
{
    public static double Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }
}
