using System.Text.Json;
using ScottPlot;

namespace RingAttention.Bench.Plot;

/// <summary>
/// Ring efficiency (kernel time at one shard over the summed kernel time at R shards) against R, one line per
/// measured sequence and device (ring.jsonl, kind "efficiency"); 1.0 means the ring costs nothing.
/// </summary>
public static class RingPlot
{
    public static string Write(IReadOnlyList<JsonElement> rows, string path)
    {
        var plot = new ScottPlot.Plot();
        foreach (var run in rows.Where(r => r.Text("kind") == "efficiency").GroupBy(r => (Device: r.Text("device"), Tokens: r.Number("tokens"), Date: r.Text("date"))))
        {
            var points = run.OrderBy(r => r.Number("shards")).ToList();
            var line = plot.Add.Scatter(
                points.Select(r => r.Number("shards")!.Value).ToArray(),
                points.Select(r => r.Number("efficiency")!.Value).ToArray());
            line.LegendText = $"{run.Key.Device}, {run.Key.Tokens:N0} tokens ({run.Key.Date})";
            line.LineWidth = 2;
            line.MarkerSize = 8;
        }

        var ideal = plot.Add.HorizontalLine(1.0);
        ideal.LinePattern = LinePattern.Dashed;
        ideal.LegendText = "no ring overhead";
        plot.Axes.SetLimitsY(0, 1.1);
        plot.Title("Ring efficiency: t(1 shard) / t(R shards), kernel time summed over shards");
        plot.XLabel("shards in the ring (R)");
        plot.YLabel("efficiency");
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(path, 900, 500);
        return path;
    }
}
