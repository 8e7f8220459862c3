using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orleans.Runtime;

namespace RingAttention.Silo.Hosting;

/// <summary>Ready when membership lists this silo as Active: it has joined and may receive shards and clients.</summary>
public sealed class SiloReadinessCheck(IClusterMembershipService membership, ILocalSiloDetails silo) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = membership.CurrentSnapshot;
        var status = snapshot.GetSiloStatus(silo.SiloAddress);
        int active = snapshot.Members.Count(m => m.Value.Status == SiloStatus.Active);
        return Task.FromResult(status == SiloStatus.Active
            ? HealthCheckResult.Healthy($"active; {active} active silos in the cluster")
            : HealthCheckResult.Unhealthy($"silo status is {status}"));
    }
}
