namespace RingAttention.Grains;

/// <summary>Keeps the ids of the newest <see cref="IJobDirectoryGrain.Capacity"/> jobs (see the interface).</summary>
public sealed class JobDirectoryGrain : Grain, IJobDirectoryGrain
{
    private readonly LinkedList<string> _newestFirst = new();
    private readonly HashSet<string> _known = new(StringComparer.Ordinal);

    public Task RegisterAsync(string jobId)
    {
        if (_known.Add(jobId))
        {
            _newestFirst.AddFirst(jobId);
            if (_newestFirst.Count > IJobDirectoryGrain.Capacity)
            {
                _known.Remove(_newestFirst.Last!.Value);
                _newestFirst.RemoveLast();
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListAsync(int limit) =>
        Task.FromResult<IReadOnlyList<string>>([.. _newestFirst.Take(Math.Clamp(limit, 0, IJobDirectoryGrain.Capacity))]);
}
