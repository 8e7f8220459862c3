using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RingAttention.Silo.Hosting;

/// <summary>Says at start-up which device the silo computes on, and why.</summary>
public sealed partial class DeviceAnnouncement(ILogger<DeviceAnnouncement> logger, string device, string reason, string dataEndpoint) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        LogDevice(device, reason, dataEndpoint);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Silo computes on {Device} ({Reason}); K/V data plane on {DataEndpoint}")]
    private partial void LogDevice(string device, string reason, string dataEndpoint);
}
