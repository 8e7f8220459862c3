using System.Text.Json;
using ScottPlot;

namespace RingAttention.Bench.Plot;

/// <summary>
/// Our GPU kernel beside PyTorch SDPA's FlashAttention-2 and cuDNN backends, measured in the same call: TFLOP/s per
/// shape, for the newest date of the newest device in kernel.jsonl, bf16 (one bar group per shape; a later line of the
/// same shape replaces an earlier one). Three figures: bf16 at head dims 64 and 128, bf16 at the other head dims, and
/// the FP8 kernel (its peers are SDPA in bf16 on the same values: PyTorch's SDPA has no FP8 path).
/// </summary>
public static class KernelPlot
{
    /// <param name="tunedDims">true: head dims 64 and 128 only; false: every other; null: every head dim.</param>
    public static string Write(IReadOnlyList<JsonElement> rows, string path, bool? tunedDims = true, string dtype = "bf16")
    {
        var measured = rows.Where(r => r.Number("ours_tflops") is not null && r.Number("cudnn_tflops") is not null
            && r.Text("dtype") == dtype && (tunedDims is null || (r.Number("dim") is 64 or 128) == tunedDims)).ToList();
        string device = measured.OrderBy(r => r.Text("date"), StringComparer.Ordinal).Last().Text("device");
        string date = measured.Where(r => r.Text("device") == device).Max(r => r.Text("date"))!;
        var shapes = measured
            .Where(r => r.Text("device") == device && r.Text("date") == date)
            .GroupBy(Label)
            .Select(g => g.Last())
            .OrderBy(r => r.Number("dim")).ThenBy(r => r.Number("tokens")).ThenBy(r => r.Flag("causal"))
            .ToList();

        var plot = new ScottPlot.Plot();
        string[] series = ["ours_tflops", "flash_tflops", "cudnn_tflops"];
        string[] names = dtype == "fp8"
            ? ["RingAttention FP8 (e4m3) kernel", "SDPA FlashAttention-2, bf16", "SDPA cuDNN, bf16"]
            : ["RingAttention kernel", "SDPA FlashAttention-2", "SDPA cuDNN"];
        var colors = new[] { Colors.Crimson, Colors.SteelBlue, Colors.Gray };
        for (int s = 0; s < series.Length; s++)
        {
            var bars = shapes.Select((row, i) => new Bar
            {
                Position = (i * (series.Length + 1)) + s,
                Value = row.Number(series[s]) ?? 0,
                FillColor = colors[s],
            }).ToList();
            plot.Add.Bars(bars).LegendText = names[s];
        }

        plot.Axes.Bottom.SetTicks(
            [.. shapes.Select((_, i) => (double)((i * (series.Length + 1)) + 1))],
            [.. shapes.Select(Tick)]);
        plot.Axes.Bottom.MinimumSize = 100;
        plot.Axes.Margins(bottom: 0);
        double highest = shapes.Max(r => series.Max(s => r.Number(s) ?? 0));
        plot.Axes.SetLimitsY(0, highest * 1.3); // room above the bars for the legend
        var first = shapes[0];
        plot.Title($"Attention forward, {device}, {date}: {first.Text("dtype")}, heads Hq/Hkv under each group (same call)");
        plot.YLabel("TFLOP/s (causal counts half)");
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, Math.Max(1100, 70 * shapes.Count), 560);
        return path;
    }

    private static string Tick(JsonElement row) =>
        $"T={row.Number("tokens") / 1024}K\n{row.Number("hq")}/{row.Number("hkv")}\nd={row.Number("dim")}{(row.Flag("causal") ? "\ncausal" : "")}";

    private static string Label(JsonElement row) =>
        $"{row.Text("dtype")} T={row.Number("tokens")} {row.Number("hq")}/{row.Number("hkv")} d={row.Number("dim")}{(row.Flag("causal") ? " causal" : "")}";
}
