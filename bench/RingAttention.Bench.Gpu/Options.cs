namespace RingAttention.Bench.Gpu;

/// <summary>"--name value" pairs.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new();

    public static Options Parse(ReadOnlySpan<string> args)
    {
        var o = new Options();
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            o._values[args[i].TrimStart('-')] = args[i + 1];
        }

        return o;
    }

    public string Get(string name, string fallback) => _values.TryGetValue(name, out var v) ? v : fallback;

    public int[] Ints(string name, string fallback) => Get(name, fallback).Split(',').Select(int.Parse).ToArray();

    public string[] List(string name, string fallback) => Get(name, fallback).Split(',');
}
