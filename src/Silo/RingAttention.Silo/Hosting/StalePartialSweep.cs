using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Jobs;

namespace RingAttention.Silo.Hosting;

/// <summary>
/// At silo start, removes temp outputs under the allowed roots that no process holds (their job's coordinator died
/// with its silo, or a client was killed). Runs in the background: a large data directory does not delay start-up.
/// </summary>
public sealed partial class StalePartialSweep(IOptions<RingAttentionOptions> options, ILogger<StalePartialSweep> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(() =>
    {
        foreach (string root in options.Value.AllowedRoots)
        {
            try
            {
                int removed = StalePartials.Sweep(root);
                if (removed > 0)
                {
                    LogRemoved(removed, root);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogSweepFailed(root, e.Message);
            }
        }
    }, stoppingToken);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Removed {Count} abandoned temp outputs under {Root}")]
    private partial void LogRemoved(int count, string root);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Could not sweep {Root} for abandoned temp outputs: {Reason}")]
    private partial void LogSweepFailed(string root, string reason);
}
