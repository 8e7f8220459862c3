using System.Collections.Concurrent;

namespace RingAttention.Grains.Ring;

/// <summary>
/// Announcements that reached a shard, by (attempt, step). An announcement may arrive before the shard starts, or
/// before the loop asks for it; whoever comes first creates the slot.
/// </summary>
public sealed class RingInbox
{
    private readonly ConcurrentDictionary<(long Attempt, int Step), TaskCompletionSource<BlockAnnouncement>> _slots = new();

    public void Post(BlockAnnouncement announcement) =>
        Slot(announcement.Attempt, announcement.Step).TrySetResult(announcement);

    public Task<BlockAnnouncement> WaitAsync(long attempt, int step, TimeSpan timeout, CancellationToken ct) =>
        Slot(attempt, step).Task.WaitAsync(timeout, ct);

    /// <summary>Forgets announcements of attempts older than <paramref name="attempt"/>.</summary>
    public void DropBefore(long attempt)
    {
        foreach (var key in _slots.Keys.Where(k => k.Attempt < attempt))
        {
            _slots.TryRemove(key, out _);
        }
    }

    public void Forget(long attempt, int step) => _slots.TryRemove((attempt, step), out _);

    private TaskCompletionSource<BlockAnnouncement> Slot(long attempt, int step) =>
        _slots.GetOrAdd((attempt, step), _ => new TaskCompletionSource<BlockAnnouncement>(TaskCreationOptions.RunContinuationsAsynchronously));
}
