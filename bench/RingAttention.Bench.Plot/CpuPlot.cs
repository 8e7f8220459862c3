using System.Text.Json;
using ScottPlot;

namespace RingAttention.Bench.Plot;

/// <summary>
/// The CPU kernel's GFLOP/s (by CPU time, so a shared machine's preemption does not show as slowness) against T, one
/// line per head dim, dtype and mask, under the machine's fp32 FMA peak measured in the same run (cpu-kernel.jsonl).
/// </summary>
public static class CpuPlot
{
    public static string Write(IReadOnlyList<JsonElement> rows, string path)
    {
        var measured = rows.Where(r => r.Text("kind") == "cpu-kernel").ToList();
        var plot = new ScottPlot.Plot();
        foreach (var series in measured.GroupBy(r => $"d={r.Number("dim")} {r.Text("dtype")}{(r.Flag("causal") ? " causal" : "")}"))
        {
            var points = series.OrderBy(r => r.Number("tokens")).ToList();
            var line = plot.Add.Scatter(
                points.Select(r => r.Number("tokens")!.Value).ToArray(),
                points.Select(r => r.Number("gflops_cpu_time")!.Value).ToArray());
            line.LegendText = series.Key;
            line.MarkerSize = 7;
        }

        if (measured.Select(r => r.Number("fma_peak_gflops")).FirstOrDefault(p => p is not null) is double peak)
        {
            var ceiling = plot.Add.HorizontalLine(peak);
            ceiling.LinePattern = LinePattern.Dashed;
            ceiling.LegendText = $"fp32 FMA peak ({peak:0} GFLOP/s)";
        }

        var first = measured.First();
        plot.Axes.SetLimitsY(0, measured.Max(r => r.Number("fma_peak_gflops") ?? 0) * 1.1);
        plot.Title($"CPU kernel, {first.Text("device")}, {first.Text("date")}");
        plot.XLabel("tokens (T), one block of self-attention, 8 heads");
        plot.YLabel("GFLOP/s by CPU time");
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 500);
        return path;
    }
}
