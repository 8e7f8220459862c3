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

    /// <summary>One job submitted and followed to its end (the repeated runs of run and bench): its figures.</summary>
    public static async Task<Reports.JobReport> RunAsync(RingAttentionClient client, JobSpec spec, CancellationToken ct) =>
        Reports.JobReport.From(await FollowAsync(await SubmitAsync(client, spec, ct), ct));

    /// <summary>
    /// Follows <paramref name="job"/> to its end. Cancelling <paramref name="ct"/> (Ctrl+C, SIGTERM) cancels the job on
    /// the cluster, waits until it has stopped and removed its partial output, and ends with <see cref="RingJobFailedException"/>
    /// (state Cancelled). Returns the final status. A queued job shows why it waits; a retried one says so.
    /// </summary>
    public static async Task<JobStatus> FollowAsync(RingJob job, CancellationToken ct)
    {
        using var registration = ct.Register(() => _ = CancelQuietlyAsync(job));
        AnsiConsole.MarkupLineInterpolated($"[grey]job {job.Id}[/]");
        JobStatus final = await job.GetStatusAsync();
        await StageProgress.RunAsync("ring steps", async report =>
        {
            await foreach (var status in job.WatchAsync(TimeSpan.FromMilliseconds(250), CancellationToken.None))
            {
                report(new ProgressUpdate(status.StepsDone, Math.Max(1, status.StepsTotal), Stage(status),
                    status.State == JobState.Running ? $"{status.StepsDone}/{status.StepsTotal}, {status.TokensPerSecond:N0} tokens/s" : null));
                final = status;
            }

            return final;
        });
        return final.State == JobState.Completed ? final : throw new RingJobFailedException(final);
    }

    /// <summary>A stage changes when the job's state does, or when it is retried (progress restarts then); the end is
    /// not a stage of its own (the progress says "done", the figures follow).</summary>
    public static string Stage(JobStatus status) => status.State switch
    {
        JobState.Queued => status.Error ?? "queued",
        JobState.Running or JobState.Completed when status.Attempts > 1 => $"running, attempt {status.Attempts}" + (status.Note is string why ? $" ({why})" : ""),
        JobState.Running or JobState.Completed => "running",
        _ => status.State.ToString().ToLowerInvariant(),
    };

    private static async Task CancelQuietlyAsync(RingJob job)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await job.CancelAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException || Contracts.RingResilience.IsTransient(e))
        {
            // The cluster is unreachable: the job's lease ends it once no status call arrives.
        }
    }

    public static void PrintFigures(Reports.JobReport report)
    {
        var table = new Table().AddColumns("figure", "value").HideHeaders();
        table.AddRow("tokens", $"{report.Tokens:N0}");
        table.AddRow("shards", Markup.Escape($"{report.Shards} on {report.Backends}"));
        table.AddRow("wall time", $"{report.WallSeconds:0.000} s");
        if (report.Note is string note)
        {
            table.AddRow("ring attempts", Markup.Escape($"{report.Attempts} (last: {note})"));
        }

        table.AddRow("tokens/s", $"{report.TokensPerSecond:N0}");
        bool linear = report.Attention == "linear";
        if (!linear)
        {
            table.AddRow("GFLOP/s", $"{report.GflopPerSecond:0.0} ({report.Gflop:0.0} GFLOP, 4 per visible pair per head per dim)");
        }

        table.AddRow("attention time (the ring, slowest shard)", $"{report.RingSeconds:0.000} s");
        if (report.BeforeRingSeconds > 0 || report.AfterRingSeconds > 0)
        {
            table.AddRow("before / after the ring", $"{report.BeforeRingSeconds:0.000} s (inputs) / {report.AfterRingSeconds:0.000} s (outputs)");
        }

        table.AddRow("kernel time (sum over shards)", $"{report.KernelSeconds:0.000} s");
        if (linear)
        {
            // The ring carries states (S and z), never K/V: the bytes do not grow with the tokens.
            table.AddRow("wait for states (sum)", $"{report.WaitSeconds:0.000} s");
            table.AddRow("states sent between shards", report.StatesSent == 0 ? "none (one shard)"
                : $"{report.StateBytes / 1e6:N2} MB in {report.StatesSent} states ({report.StateBytes / report.StatesSent / 1e6:N3} MB each)");
            AnsiConsole.Write(table);
            return;
        }

        table.AddRow("wait for K/V (sum)", $"{report.WaitSeconds:0.000} s");
        table.AddRow("K/V moved between silos", $"{report.BytesMoved / 1e6:N1} MB in {report.RemoteTransfers} transfers; {report.LocalHandoffs} zero-copy hand-offs");
        if (report.PeerCopies + report.StagedCopies > 0)
        {
            table.AddRow("K/V between devices of a silo", $"{report.PeerBytes / 1e6:N1} MB in {report.PeerCopies} device-to-device copies; {report.StagedCopies} staged through host memory");
        }

        if (report.ProcessCopies > 0)
        {
            table.AddRow("K/V between processes of a host", $"{report.ProcessBytes / 1e6:N1} MB in {report.ProcessCopies} device-to-device copies (CUDA IPC)");
        }

        AnsiConsole.Write(table);
    }
}
