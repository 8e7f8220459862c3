using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace RingAttention.Cli;

/// <summary>
/// Progress of work that can take more than a moment. On a terminal: a live bar with percentage, time left and time
/// taken. Off a terminal (a file, a pipe, CI): one line when work starts, one per new stage and per quarter done
/// once it has run two seconds (with the time left), one when it ends; nothing that redraws.
/// </summary>
public static class StageProgress
{
    public static async Task<T> RunAsync<T>(string title, Func<Action<ProgressUpdate>, Task<T>> work)
    {
        if (CliOutput.Interactive)
        {
            T result = default!;
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                    new RemainingTimeColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                .StartAsync(async context =>
                {
                    var bar = context.AddTask(Markup.Escape(title), maxValue: 1);
                    result = await work(update =>
                    {
                        bar.MaxValue = Math.Max(update.Total, 1e-9);
                        bar.Value = Math.Min(update.Done, bar.MaxValue);
                        bar.Description = Markup.Escape($"{title}: {update.Stage}{(update.Detail is null ? "" : ", " + update.Detail)}");
                    });
                    bar.Value = bar.MaxValue;
                });
            return result;
        }

        var lines = new Lines(title);
        var value = await work(lines.Report);
        lines.Done();
        return value;
    }

    /// <summary>The off-terminal form: a line per stage and, after the first two seconds, per quarter with the time left.</summary>
    private sealed class Lines(string title)
    {
        private const double QuietSeconds = 2;
        private readonly Lock _gate = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private string? _stage;
        private int _quarter;
        private double _stageStartSeconds;
        private double _stageStartDone;

        public void Report(ProgressUpdate update)
        {
            lock (_gate)
            {
                double now = _clock.Elapsed.TotalSeconds;
                if (update.Stage != _stage)
                {
                    _stage = update.Stage;
                    _stageStartSeconds = now;
                    _stageStartDone = update.Done;
                    _quarter = Quarter(update);
                    AnsiConsole.WriteLine($"{title}: {update.Stage}");
                    return;
                }

                // Quarter lines only for work that takes a while: a log of a quick command stays one line per stage.
                int quarter = Quarter(update);
                if (quarter > _quarter && quarter < 4 && now - _stageStartSeconds >= QuietSeconds)
                {
                    _quarter = quarter;
                    double rate = (update.Done - _stageStartDone) / Math.Max(now - _stageStartSeconds, 1e-9);
                    string left = rate > 0 ? $", about {Seconds((update.Total - update.Done) / rate)} left" : "";
                    AnsiConsole.WriteLine($"{title}: {quarter * 25}%{left}");
                }
            }
        }

        public void Done() => AnsiConsole.WriteLine($"{title}: done in {Seconds(_clock.Elapsed.TotalSeconds)}");

        private static int Quarter(ProgressUpdate update) =>
            update.Total <= 0 ? 0 : (int)Math.Floor(4 * Math.Clamp(update.Done / update.Total, 0, 1));

        private static string Seconds(double seconds) =>
            seconds < 90 ? string.Create(CultureInfo.InvariantCulture, $"{seconds:0.0} s") : TimeSpan.FromSeconds(Math.Round(seconds)).ToString("c", CultureInfo.InvariantCulture);
    }
}
