using Orleans.Concurrency;

namespace RingAttention.Contracts.Sessions;

/// <summary>The sessions on the cluster's session storage (any silo answers: the storage is shared).</summary>
[Alias("RingAttention.ISessionDirectoryGrain")]
public interface ISessionDirectoryGrain : IGrainWithIntegerKey
{
    [ReadOnly]
    Task<IReadOnlyList<string>> ListAsync();
}
