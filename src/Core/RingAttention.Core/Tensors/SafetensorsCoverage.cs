namespace RingAttention.Tensors;

/// <summary>
/// The set of byte ranges written so far, kept as sorted disjoint [start, end) intervals so that a
/// commit can refuse to publish a file with never-written (zero-filled) holes. Thread-safe.
/// </summary>
internal sealed class SafetensorsCoverage
{
    private readonly List<(long Start, long End)> _ranges = [];

    public void Add(long start, long end)
    {
        if (end <= start)
        {
            return;
        }

        lock (_ranges)
        {
            // First interval that ends at or after start: everything before it is untouched.
            int lo = 0, hi = _ranges.Count;
            while (lo < hi)
            {
                int mid = (lo + hi) / 2;
                if (_ranges[mid].End < start) { lo = mid + 1; } else { hi = mid; }
            }

            int last = lo;
            while (last < _ranges.Count && _ranges[last].Start <= end)
            {
                start = Math.Min(start, _ranges[last].Start);
                end = Math.Max(end, _ranges[last].End);
                last++;
            }

            _ranges.RemoveRange(lo, last - lo);
            _ranges.Insert(lo, (start, end));
        }
    }

    /// <summary>The first sub-range of [start, end) never written, or null when it is fully covered.</summary>
    public (long Start, long End)? FirstGap(long start, long end)
    {
        lock (_ranges)
        {
            long cursor = start;
            foreach (var (s, e) in _ranges)
            {
                if (e <= cursor)
                {
                    continue;
                }

                if (s > cursor)
                {
                    return (cursor, Math.Min(s, end));
                }

                cursor = e;
                if (cursor >= end)
                {
                    return null;
                }
            }

            return cursor < end ? (cursor, end) : null;
        }
    }
}
