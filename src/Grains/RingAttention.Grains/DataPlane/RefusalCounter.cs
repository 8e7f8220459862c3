using RingAttention.Grains.Telemetry;

namespace RingAttention.Grains.DataPlane;

/// <summary>
/// Counts refused data-plane requests and lets one warning through per period: each refusal names a key the caller
/// chose, and a client hammering the port once wrote 1.3k warning lines a second. The warning that gets through
/// carries how many were refused since the last one; the total is a metric.
/// </summary>
public sealed class RefusalCounter(TimeSpan period)
{
    private readonly object _gate = new();
    private long _suppressed;
    private DateTime _nextWarning = DateTime.MinValue;

    /// <summary>Records one refusal; returns the number refused since the last warning when a warning is due, else null.</summary>
    public long? Refused()
    {
        RingTelemetry.DataPlaneRefusals.Add(1);
        lock (_gate)
        {
            _suppressed++;
            var now = DateTime.UtcNow;
            if (now < _nextWarning)
            {
                return null;
            }

            _nextWarning = now + period;
            long count = _suppressed;
            _suppressed = 0;
            return count;
        }
    }
}
