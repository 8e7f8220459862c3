using System.Collections.Concurrent;

namespace RingAttention.Grains.Linear;

/// <summary>
/// States posted to a shard of a linear-attention job, by (attempt, slot). A post may arrive before the shard starts or
/// before it asks; whoever comes first creates the slot. Repeats of a post are ignored (retries are harmless).
/// </summary>
public sealed class LinearStateInbox
{
    private readonly ConcurrentDictionary<(long Attempt, int Slot), TaskCompletionSource<LinearStatePost>> _slots = new();

    public void Post(LinearStatePost post) => Slot(post.Attempt, post.Slot).TrySetResult(post);

    /// <summary>The post of <paramref name="slot"/>, removed from the inbox once it is here.</summary>
    public async Task<LinearStatePost> TakeAsync(long attempt, int slot, TimeSpan timeout, CancellationToken ct)
    {
        var post = await Slot(attempt, slot).Task.WaitAsync(timeout, ct).ConfigureAwait(false);
        _slots.TryRemove((attempt, slot), out _);
        return post;
    }

    /// <summary>Forgets posts of attempts older than <paramref name="attempt"/>.</summary>
    public void DropBefore(long attempt)
    {
        foreach (var key in _slots.Keys.Where(k => k.Attempt < attempt))
        {
            _slots.TryRemove(key, out _);
        }
    }

    private TaskCompletionSource<LinearStatePost> Slot(long attempt, int slot) =>
        _slots.GetOrAdd((attempt, slot), _ => new TaskCompletionSource<LinearStatePost>(TaskCreationOptions.RunContinuationsAsynchronously));
}
