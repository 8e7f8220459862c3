using System.Text.Json;
using ScottPlot;

namespace RingAttention.Bench.Plot;

/// <summary>
/// Linear attention (issue 16): million tokens/s of our ring with one shard and with eight shards on the same GPU, beside
/// the PyTorch chunkwise peer, per sequence length (linear.jsonl). Ours: the rows of the newest kernel (the last
/// "linear-ours" row's); the peer: its newest row at each length. Rates from the recorded medians.
/// </summary>
public static class LinearPlot
{
    public static string Write(IReadOnlyList<JsonElement> rows, string path)
    {
        var ours = rows.Where(r => r.Text("kind") == "linear-ours").ToList();
        string kernel = ours[^1].Text("kernel");
        ours = [.. ours.Where(r => r.Text("kernel") == kernel && r.Text("exchange") == "gather")];
        var tokens = ours.Select(r => r.Number("tokens")!.Value).Distinct().Order().ToList();
        var peers = rows.Where(r => r.Text("kind") == "linear-peer").ToList();

        var plot = new ScottPlot.Plot();
        var series = new (string Name, Color Color, Func<double, double?> Rate)[]
        {
            ("ours, 1 shard", Colors.Crimson, t => Rate(Newest(ours, r => r.Number("tokens") == t && r.Number("shards") == 1))),
            ("ours, 8 shards on one GPU", Colors.Orange, t => Rate(Newest(ours, r => r.Number("tokens") == t && r.Number("shards") == 8))),
            ("PyTorch chunkwise (64-token chunks, fp32 state)", Colors.SteelBlue,
                t => Newest(peers, r => r.Number("tokens") == t)?.Number("tokens_per_s") / 1e6),
        };
        for (int s = 0; s < series.Length; s++)
        {
            var bars = tokens.Select((t, i) => new Bar
            {
                Position = (i * (series.Length + 1)) + s,
                Value = series[s].Rate(t) ?? 0,
                FillColor = series[s].Color,
            }).ToList();
            plot.Add.Bars(bars).LegendText = series[s].Name;
        }

        plot.Axes.Bottom.SetTicks(
            [.. tokens.Select((_, i) => (double)((i * (series.Length + 1)) + 1))],
            [.. tokens.Select(t => t >= 1 << 20 ? $"{t / (1 << 20)}M tokens" : $"{t / 1024}K tokens")]);
        plot.Axes.Margins(bottom: 0);
        var first = ours[0];
        plot.Title($"Linear attention, {first.Text("gpu")}, {first.Text("date")}: {first.Text("dtype")}, {first.Number("hq")}/{first.Number("hkv")} heads, d {first.Number("dim")}, causal, decay {first.Number("decay")}");
        plot.YLabel("million tokens/s (attention phase)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 1000, 520);
        return path;
    }

    private static JsonElement? Newest(IEnumerable<JsonElement> rows, Func<JsonElement, bool> match) =>
        rows.Where(match).Select(r => (JsonElement?)r).LastOrDefault();

    private static double? Rate(JsonElement? row) =>
        row is { } r && r.Number("attention_seconds") is double seconds && seconds > 0 ? r.Number("tokens") / seconds / 1e6 : null;
}
