using RingAttention.Attention;
using RingAttention.Client;
using RingAttention.Grains;
using Spectre.Console;

namespace RingAttention.Cli;

/// <summary>A progress bar of ring steps while a job runs, then its figures.</summary>
public static class JobProgressView
{
    /// <summary>Follows <paramref name="job"/> to its end; Ctrl+C cancels the job. Returns the final status.</summary>
    public static async Task<JobStatus> FollowAsync(RingJob job, CancellationToken ct)
    {
        using var registration = ct.Register(() => _ = job.CancelAsync());
        JobStatus final = await job.GetStatusAsync();
        await AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask($"ring steps of {job.Id}", maxValue: 1);
                await foreach (var status in job.WatchAsync(TimeSpan.FromMilliseconds(250), CancellationToken.None))
                {
                    bar.MaxValue = Math.Max(1, status.StepsTotal);
                    bar.Value = status.StepsDone;
                    bar.Description = $"{status.StepsDone}/{status.StepsTotal} ring steps, {status.TokensPerSecond:N0} tokens/s";
                    final = status;
                }

                if (final.State == JobState.Completed)
                {
                    bar.Value = bar.MaxValue;
                }
            });
        return final.State == JobState.Completed ? final : throw new RingJobFailedException(final);
    }

    public static void PrintFigures(JobStatus status)
    {
        double flops = AttentionFlops.Count(status.Spec!.ToAttentionSpec());
        var table = new Table().AddColumns("figure", "value").HideHeaders();
        table.AddRow("tokens", $"{status.Tokens:N0}");
        table.AddRow("shards", $"{status.Shards} on {status.Backends}");
        table.AddRow("wall time", $"{status.ElapsedSeconds:0.000} s");
        table.AddRow("tokens/s", $"{status.Tokens / status.ElapsedSeconds:N0}");
        table.AddRow("GFLOP/s", $"{flops / status.ElapsedSeconds / 1e9:0.0} ({flops / 1e9:0.0} GFLOP, 4 per visible pair per head per dim)");
        table.AddRow("kernel time (sum over shards)", $"{status.Totals.ComputeSeconds:0.000} s");
        table.AddRow("wait for K/V (sum)", $"{status.Totals.WaitSeconds:0.000} s");
        table.AddRow("K/V moved between silos", $"{status.Totals.BytesMoved / 1e6:N1} MB in {status.Totals.RemoteTransfers} transfers; {status.Totals.LocalHandoffs} zero-copy hand-offs");
        AnsiConsole.Write(table);
    }
}
