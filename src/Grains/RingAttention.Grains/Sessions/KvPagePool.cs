using RingAttention.Attention;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// The K/V pages one compute device lends to sessions, shared by every session shard on it: a byte budget, pages
/// handed out, and returned pages kept for the next taker of the same shape (so a steady workload allocates nothing).
/// A take that would pass the budget first evicts the page tables of idle sessions, least recently used first (they
/// reload from their segments when next used), then is refused with the numbers; idle pages of another shape are freed
/// to make room. Thread-safe.
/// </summary>
public sealed class KvPagePool(ComputeDevice device, long budgetBytes)
{
    private readonly object _gate = new();
    private readonly Dictionary<(ElementType, int, int, int), Stack<DeviceKeyValues>> _idle = [];
    private readonly HashSet<KvPages> _tables = [];
    private long _lentBytes;
    private long _idleBytes;

    public ComputeDevice Device => device;

    public long BudgetBytes => budgetBytes;

    /// <summary>Bytes of pages sessions hold now.</summary>
    public long LentBytes
    {
        get
        {
            lock (_gate)
            {
                return _lentBytes;
            }
        }
    }

    public long FreeBytes => BudgetBytes - LentBytes;

    public static long PageBytes(ElementType type, int kvHeads, int headDim, int tokens) => 2L * tokens * kvHeads * headDim * type.Size();

    /// <summary>
    /// <paramref name="count"/> empty pages of <paramref name="tokens"/> rows, or null (nothing taken) when they would
    /// pass the budget (the caller reports <see cref="FreeBytes"/> and <see cref="BudgetBytes"/>).
    /// </summary>
    public async Task<IReadOnlyList<DeviceKeyValues>?> TakeAsync(ElementType type, int kvHeads, int headDim, int tokens, int count, CancellationToken ct)
    {
        long bytes = PageBytes(type, kvHeads, headDim, tokens);
        var key = (type, kvHeads, headDim, tokens);
        var pages = new List<DeviceKeyValues>(count);
        var toFree = new List<DeviceKeyValues>();
        int fresh;
        List<KvPages> idle;
        lock (_gate)
        {
            idle = _lentBytes + (bytes * count) > budgetBytes ? [.. _tables.Where(t => t.Pages > 0).OrderBy(t => t.LastUsedTicks)] : [];
        }

        foreach (var table in idle)
        {
            if (LentBytes + (bytes * count) <= budgetBytes)
            {
                break;
            }

            // A table in use (its lease is held, as the caller's own is) is skipped.
            table.TryEvict();
        }

        lock (_gate)
        {
            if (_lentBytes + (bytes * count) > budgetBytes)
            {
                return null;
            }

            _lentBytes += bytes * count;
            if (_idle.TryGetValue(key, out var same))
            {
                while (pages.Count < count && same.TryPop(out var page))
                {
                    pages.Add(page);
                    _idleBytes -= bytes;
                }
            }

            fresh = count - pages.Count;
            // Idle pages of other shapes give way, so the pool's memory stays within its budget.
            foreach (var (otherKey, stack) in _idle)
            {
                while (_lentBytes + _idleBytes > budgetBytes && !otherKey.Equals(key) && stack.TryPop(out var other))
                {
                    _idleBytes -= other.DataBytes;
                    toFree.Add(other);
                }
            }
        }

        foreach (var page in toFree)
        {
            page.Dispose();
        }

        try
        {
            var empty = new[] { new TokenSpan(0, tokens) };
            for (int i = 0; i < fresh; i++)
            {
                var page = await device.AllocateKeyValuesAsync(type, kvHeads, headDim, empty, ct).ConfigureAwait(false);
                page.Refill([]);
                pages.Add(page);
            }
        }
        catch
        {
            Return(pages);
            lock (_gate)
            {
                _lentBytes -= bytes * (count - pages.Count);
            }

            throw;
        }

        return pages;
    }

    /// <summary>Tables whose pages may be evicted to make room (every table registers itself).</summary>
    internal void Register(KvPages table)
    {
        lock (_gate)
        {
            _tables.Add(table);
        }
    }

    internal void Unregister(KvPages table)
    {
        lock (_gate)
        {
            _tables.Remove(table);
        }
    }

    /// <summary>Pages back (emptied) for the next taker.</summary>
    public void Return(IEnumerable<DeviceKeyValues> pages)
    {
        lock (_gate)
        {
            foreach (var page in pages)
            {
                _lentBytes -= page.DataBytes;
                if (page.IsDisposed)
                {
                    continue;
                }

                page.Refill([]);
                var key = (page.Type, page.Heads, page.HeadDim, page.Capacity);
                if (!_idle.TryGetValue(key, out var stack))
                {
                    _idle[key] = stack = new Stack<DeviceKeyValues>();
                }

                stack.Push(page);
                _idleBytes += page.DataBytes;
            }
        }
    }
}
