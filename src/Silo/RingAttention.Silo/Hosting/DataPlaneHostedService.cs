using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RingAttention.Grains.DataPlane;

namespace RingAttention.Silo.Hosting;

/// <summary>Runs the data-plane accept loop for the silo's lifetime (the socket was bound when the silo was configured).</summary>
public sealed class DataPlaneHostedService(DataPlaneServer server, ILogger<DataPlaneServer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        server.Start(logger);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await server.DisposeAsync();
}
