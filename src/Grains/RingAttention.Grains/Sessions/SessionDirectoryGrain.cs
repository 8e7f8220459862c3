using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Configuration;

namespace RingAttention.Grains.Sessions;

/// <summary>Lists the session root (shared by every silo): a directory with a manifest is a session.</summary>
[StatelessWorker]
public sealed class SessionDirectoryGrain(IOptions<RingAttentionOptions> options) : Grain, ISessionDirectoryGrain
{
    public Task<IReadOnlyList<string>> ListAsync()
    {
        string? root = options.Value.SessionRoot;
        IReadOnlyList<string> ids = root is null || !Directory.Exists(root)
            ? []
            : Directory.EnumerateDirectories(root)
                .Where(d => File.Exists(SessionManifest.PathIn(d)))
                .Select(d => Path.GetFileName(d))
                .Order(StringComparer.Ordinal)
                .ToList();
        return Task.FromResult(ids);
    }
}
