namespace RingAttention.Grains.Ring;

/// <summary>Thread-safe counters of one shard's ring loop (the receive of step s+1 runs beside the kernel of step s).</summary>
public sealed class RingCounters
{
    private readonly Lock _lock = new();
    private RingTotals _totals = RingTotals.Zero;

    public RingTotals Snapshot()
    {
        lock (_lock)
        {
            return _totals;
        }
    }

    public void Add(RingTotals delta)
    {
        lock (_lock)
        {
            _totals = _totals.Add(delta);
        }
    }
}
