using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RingAttention.Silo.Hosting;

/// <summary>
/// Watches that the cluster's Redis membership table still exists. If Redis lost it (restarted without persistence,
/// flushed), Orleans silos keep running without rows and never write them again: observed, about half of the next
/// jobs failed with "target silo is no longer active" until every silo was restarted. When the table is missing on two
/// checks in a row, this silo stops with exit code <see cref="ExitCode"/>; its supervisor (Kubernetes, or
/// scripts/local-cluster.sh) starts it again and it registers afresh. Redis being unreachable is not a missing table.
/// </summary>
public sealed partial class MembershipTableWatch(SiloHostOptions host, IHostApplicationLifetime lifetime, ILogger<MembershipTableWatch> logger)
    : BackgroundService
{
    /// <summary>EX_TEMPFAIL: "start me again". local-cluster.sh restarts a silo that exits with it.</summary>
    public const int ExitCode = 75;

    public static readonly TimeSpan Period = TimeSpan.FromSeconds(5);

    /// <summary>The key Orleans' Redis membership table lives under.</summary>
    public static string TableKey(SiloHostOptions host) => $"{host.ServiceId}/members/{host.ClusterId}";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var options = ConfigurationOptions.Parse(host.RedisConnectionString);
        options.AbortOnConnectFail = false;
        using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var key = new RedisKey(TableKey(host));
        int missing = 0;
        using var timer = new PeriodicTimer(Period);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                missing = await redis.GetDatabase().KeyExistsAsync(key) ? 0 : missing + 1;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                // Unreachable or slow Redis (RedisTimeoutException is a TimeoutException, not a RedisException): not a
                // missing table. Escaping here stopped the silo for good (a BackgroundService failure stops the host with
                // an exit code the supervisor does not restart): seen in the Redis kill drill.
                continue;
            }

            if (missing >= 2)
            {
                LogTableMissing(key.ToString());
                Environment.ExitCode = ExitCode;
                lifetime.StopApplication();
                // A graceful stop writes this silo's row to the table that is gone and retries for up to the host's
                // shutdown timeout (30 s seen); nothing of this silo's state is worth saving, so give it 5 s.
                await Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None);
                Environment.Exit(ExitCode);
            }
        }
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Critical, Message = "The membership table {Key} is gone from Redis: stopping so that this silo is started again and registers afresh")]
    private partial void LogTableMissing(string key);
}
