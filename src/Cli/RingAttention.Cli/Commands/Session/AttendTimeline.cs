using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using RingAttention.Grains.Telemetry;

namespace RingAttention.Cli.Commands.Session;

/// <summary>
/// <c>session attend --timeline</c>: records this process's RingAttention activities (the embedded cluster's silo runs
/// here) and gives those of the last attend — the session grain's, each shard's (loading, waiting for children), the
/// device lane's and a turn's phases (upload, accumulators, kernels, downloads) — as offsets from the attend's start,
/// so that where an attend's time goes is measured rather than read off the code. The last 4096 activities are kept.
/// </summary>
internal sealed class AttendTimeline : IDisposable
{
    private const int Kept = 4096;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly ActivityListener _listener;

    public AttendTimeline()
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

    /// <summary>One line per activity inside the last session attend: start offset, duration, name, tags.</summary>
    public IReadOnlyList<string> LastAttend()
    {
        var all = _stopped.ToArray();
        var attend = all.LastOrDefault(a => a.DisplayName == "session attend");
        if (attend is null)
        {
            return ["timeline: no attend was recorded"];
        }

        var start = attend.StartTimeUtc;
        var end = start + attend.Duration;
        return
        [
            "timeline of the last attend (ms from its start, duration):",
            .. all.Where(a => a.StartTimeUtc >= start && a.StartTimeUtc <= end)
                .OrderBy(a => a.StartTimeUtc)
                .Select(a => string.Format(CultureInfo.InvariantCulture, "  {0,9:0.000} +{1,9:0.000}  {2}{3}",
                    (a.StartTimeUtc - start).TotalMilliseconds, a.Duration.TotalMilliseconds, a.DisplayName,
                    string.Concat(a.TagObjects.Select(t => $" {t.Key}={t.Value}")))),
        ];
    }

    public void Dispose() => _listener.Dispose();
}
