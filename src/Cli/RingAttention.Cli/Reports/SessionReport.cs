using RingAttention.Cli.Bench;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Jobs;
using RingAttention.Tensors;
using Spectre.Console;

namespace RingAttention.Cli.Reports;

/// <summary>A session's status for a person: one line of shape and length, one per shard with its pages.</summary>
public static class SessionReport
{
    public static void Print(string verb, SessionStatus status) => CliOutput.Human(() =>
    {
        string mask = status.Causal ? status.Window is int w ? $"causal, window {w}" : "causal" : status.Window is int v ? $"window {v}" : "no mask";
        AnsiConsole.WriteLine(FormattableString.Invariant(
            $"{verb} session {status.SessionId}: {status.Tokens} tokens in {status.Segments} segment{(status.Segments == 1 ? "" : "s")}, {status.Heads}/{status.KvHeads} heads, head dim {status.HeadDim}, {status.DType.SafetensorsName()}, {mask}, pages of {status.PageTokens} tokens"));
        foreach (var shard in status.ShardStats)
        {
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"  shard {shard.Index} on {shard.Device} ({shard.Silo}): {shard.Tokens} tokens, {shard.Pages} pages, {JobMemory.Format(shard.UsedBytes)} used of {JobMemory.Format(shard.AllocatedBytes)}; pool {JobMemory.Format(shard.PoolFreeBytes)} free of {JobMemory.Format(shard.PoolBytes)}"));
        }

        if (status.ShardStats.Count > 0)
        {
            double fragmentation = status.AllocatedBytes == 0 ? 0 : 1 - ((double)status.UsedBytes / status.AllocatedBytes);
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"  pages hold {JobMemory.Format(status.UsedBytes)} in {JobMemory.Format(status.AllocatedBytes)} ({fragmentation:P1} free room in last pages)"));
        }

        if (status.Seconds > 0)
        {
            AnsiConsole.WriteLine(FormattableString.Invariant(
                $"  {status.Seconds:0.000} s: durable copy (segment, manifest) {status.SegmentSeconds:0.000} s, pages {status.LoadSeconds:0.000} s{(status.PrefillAttendSeconds > 0 ? FormattableString.Invariant($", prefill attend {status.PrefillAttendSeconds:0.000} s") : "")}"));
        }

        if (status.Output is string output)
        {
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {output}");
        }
    });

    /// <summary>
    /// Medians of repeated calls after the first (which warms the process): the whole call, the durable copy, the page
    /// fill, the prefill's attends (when the rows had q), and the rest (reading q, writing the prefill's output).
    /// </summary>
    public static void PrintRepeats(string verb, IReadOnlyList<SessionStatus> calls) => CliOutput.Human(() =>
    {
        var warm = calls.Skip(1).ToList();
        double total = Median.Of(warm.Select(s => s.Seconds)) * 1000, durable = Median.Of(warm.Select(s => s.SegmentSeconds)) * 1000;
        double pages = Median.Of(warm.Select(s => s.LoadSeconds)) * 1000, attend = Median.Of(warm.Select(s => s.PrefillAttendSeconds)) * 1000;
        double rest = Median.Of(warm.Select(s => s.Seconds - s.SegmentSeconds - s.LoadSeconds - s.PrefillAttendSeconds)) * 1000;
        AnsiConsole.WriteLine(FormattableString.Invariant(
            $"first {verb} {calls[0].Seconds * 1000:0.0} ms; median of the next {warm.Count}: {total:0.0} ms (durable copy {durable:0.0} ms, pages {pages:0.0} ms, prefill attend {attend:0.0} ms, the rest {rest:0.0} ms)"));
    });
}

/// <summary>What <c>session attend --json</c> prints.</summary>
public sealed record SessionAttendReport(string Session, int Rows, int FirstPosition, double Seconds, int MergeRounds, string Output, IReadOnlyList<double> AllSeconds);

/// <summary>What <c>session list --json</c> prints.</summary>
public sealed record SessionListReport(IReadOnlyList<string> Sessions);
