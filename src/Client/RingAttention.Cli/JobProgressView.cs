using RingAttention.Attention;
using RingAttention.Client;
using RingAttention.Grains;
using Spectre.Console;

namespace RingAttention.Cli;

/// <summary>A progress bar of ring steps while a job runs, then its figures.</summary>
public static class JobProgressView
{
    /// <summary>Seconds a job of this CLI runs on without a status call before the cluster cancels it (the CLI polls
    /// four times a second, so only a dead or frozen CLI misses it).</summary>
    public const int DefaultLeaseSeconds = 20;

    /// <summary>
    /// Submits under a job id chosen here, so that a Ctrl+C during the submit call can still cancel the job by id
    /// if the cluster accepted it.
    /// </summary>
    public static async Task<RingJob> SubmitAsync(RingAttentionClient client, JobSpec spec, CancellationToken ct)
    {
        string id = RingAttentionClient.NewJobId();
        try
        {
            return await client.SubmitAsync(spec, id, ct);
        }
        catch (OperationCanceledException)
        {
            await CancelQuietlyAsync(client.GetJob(id));
            throw;
        }
    }

    /// <summary>
    /// Follows <paramref name="job"/> to its end. Cancelling <paramref name="ct"/> (Ctrl+C, SIGTERM) cancels the job on
    /// the cluster, waits until it has stopped and removed its partial output, and ends with <see cref="RingJobFailedException"/>
    /// (state Cancelled). Returns the final status.
    /// </summary>
    public static async Task<JobStatus> FollowAsync(RingJob job, CancellationToken ct)
    {
        using var registration = ct.Register(() => _ = CancelQuietlyAsync(job));
        AnsiConsole.MarkupLineInterpolated($"[grey]job {job.Id}[/]");
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
                    string note = status.State == JobState.Queued && status.Error is string queued ? $" ({queued})"
                        : status.Note is string why ? $" ({why})" : "";
                    bar.Description = Markup.Escape($"{status.StepsDone}/{status.StepsTotal} ring steps, {status.TokensPerSecond:N0} tokens/s{note}");
                    final = status;
                }

                if (final.State == JobState.Completed)
                {
                    bar.Value = bar.MaxValue;
                }
            });
        return final.State == JobState.Completed ? final : throw new RingJobFailedException(final);
    }

    private static async Task CancelQuietlyAsync(RingJob job)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await job.CancelAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException || Grains.RingResilience.IsTransient(e))
        {
            // The cluster is unreachable: the job's lease ends it once no status call arrives.
        }
    }

    public static void PrintFigures(JobStatus status)
    {
        double flops = AttentionFlops.Count(status.Spec!.ToAttentionSpec());
        var table = new Table().AddColumns("figure", "value").HideHeaders();
        table.AddRow("tokens", $"{status.Tokens:N0}");
        table.AddRow("shards", $"{status.Shards} on {status.Backends}");
        table.AddRow("wall time", $"{status.ElapsedSeconds:0.000} s");
        if (status.Note is string note)
        {
            table.AddRow("ring attempts", Markup.Escape($"{status.Attempts} (last: {note})"));
        }

        table.AddRow("tokens/s", $"{status.Tokens / status.ElapsedSeconds:N0}");
        table.AddRow("GFLOP/s", $"{flops / status.ElapsedSeconds / 1e9:0.0} ({flops / 1e9:0.0} GFLOP, 4 per visible pair per head per dim)");
        table.AddRow("kernel time (sum over shards)", $"{status.Totals.ComputeSeconds:0.000} s");
        table.AddRow("wait for K/V (sum)", $"{status.Totals.WaitSeconds:0.000} s");
        table.AddRow("K/V moved between silos", $"{status.Totals.BytesMoved / 1e6:N1} MB in {status.Totals.RemoteTransfers} transfers; {status.Totals.LocalHandoffs} zero-copy hand-offs");
        AnsiConsole.Write(table);
    }
}
