using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.MembershipService.SiloMetadata;
using RingAttention.Grains.Placement;

namespace RingAttention.Silo.Api;

/// <summary>
/// <c>GET /v1/cluster</c>: the active silos, each with its devices (as its metadata advertises them) and its memory and
/// CPU (Orleans' runtime statistics): the jobs page's silo table. Guarded like the job API.
/// </summary>
public static class ClusterApi
{
    public static IEndpointRouteBuilder MapClusterApi(this IEndpointRouteBuilder app, string? token)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/v1/cluster", http => JobApi.Guarded(http, token, SummaryAsync));
        return app;
    }

    private static async Task SummaryAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var membership = services.GetRequiredService<IClusterMembershipService>();
        var metadata = services.GetRequiredService<ISiloMetadataCache>();
        var active = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress)
            .OrderBy(s => s.ToParsableString(), StringComparer.Ordinal).ToArray();
        var management = services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var statistics = await JobApi.Retried(() => management.GetRuntimeStatistics(active), http);
        var silos = active.Select((silo, i) => new SiloSummary(
            silo.ToParsableString(),
            statistics[i].EnvironmentStatistics.FilteredMemoryUsageBytes,
            statistics[i].EnvironmentStatistics.FilteredAvailableMemoryBytes,
            statistics[i].EnvironmentStatistics.FilteredCpuUsagePercentage,
            statistics[i].ActivationCount,
            Devices(metadata.GetSiloMetadata(silo).Metadata))).ToList();
        await JobApi.Write(http, StatusCodes.Status200OK, new ClusterSummary(silos), ApiJson.Default.ClusterSummary);
    }

    /// <summary>The devices of one silo from its "name|hardware|memory|free|pci|host" metadata values, in index order.</summary>
    private static List<DeviceSummary> Devices(IReadOnlyDictionary<string, string> values)
    {
        var devices = new List<DeviceSummary>();
        for (int i = 0; values.TryGetValue(SiloMetadataKeys.DeviceFactsPrefix + i.ToString(CultureInfo.InvariantCulture), out var facts); i++)
        {
            string[] f = facts.Split('|');
            devices.Add(new DeviceSummary(f[0], f.Length > 1 ? f[1] : "", Bytes(f, 2), Bytes(f, 3)));
        }

        if (devices.Count == 0 && DeviceSlots.Parse(SiloAddress.Zero, values) is { } advertised)
        {
            devices.AddRange(advertised.Names.Select((name, i) => new DeviceSummary(name, "", advertised.Memory is { } m && i < m.Count ? m[i] : null, null)));
        }

        return devices;
    }

    private static long? Bytes(string[] fields, int at) =>
        at < fields.Length && long.TryParse(fields[at], NumberStyles.Integer, CultureInfo.InvariantCulture, out long b) ? b : null;
}
