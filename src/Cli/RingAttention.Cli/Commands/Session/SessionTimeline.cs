using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using RingAttention.Grains.Telemetry;

namespace RingAttention.Cli.Commands.Session;

/// <summary>
/// <c>session attend --timeline</c> and <c>session append --timeline</c>: records this process's RingAttention
/// activities (the embedded cluster's silo runs here) and gives those of the last attend or append — the session
/// grain's (an append's durable copy, page fills, reading q, writing the output), each shard's (loading, waiting for
/// its group and its children), the device lane's and a turn's phases (upload, accumulators, kernels, merges,
/// downloads) — as offsets from its start, so that where the time goes is measured rather than read off the code. The
/// last 4096 activities are kept.
/// </summary>
internal sealed class SessionTimeline : IDisposable
{
    private const int Kept = 4096;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public SessionTimeline()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RingTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                _stopped.Enqueue(activity);
                while (_stopped.Count > Kept && _stopped.TryDequeue(out _))
                {
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>One line per activity inside the last <paramref name="call"/> ("attend", "append"): start offset, duration, name, tags.</summary>
    public IReadOnlyList<string> Last(string call)
    {
        var all = _stopped.ToArray();
        var attend = all.LastOrDefault(a => a.DisplayName == $"session {call}");
        if (attend is null)
        {
            return [$"timeline: no {call} was recorded"];
        }

        var start = attend.StartTimeUtc;
        var end = start + attend.Duration;
        return
        [
            $"timeline of the last {call} (ms from its start, duration):",
            .. all.Where(a => a.StartTimeUtc >= start && a.StartTimeUtc <= end)
                .OrderBy(a => a.StartTimeUtc)
                .Select(a => string.Format(CultureInfo.InvariantCulture, "  {0,9:0.000} +{1,9:0.000}  {2}{3}",
                    (a.StartTimeUtc - start).TotalMilliseconds, a.Duration.TotalMilliseconds, a.DisplayName,
                    string.Concat(a.TagObjects.Select(t => $" {t.Key}={t.Value}")))),
        ];
    }

    public void Dispose() => _listener.Dispose();
}
