using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using RingAttention.Contracts.Security;
using RingAttention.Silo.Api;

namespace RingAttention.Silo.Hosting;

/// <summary>
/// The silo's HTTP ports, for the deployable silo and the embedded cluster alike. Without a cluster certificate: one
/// plain port with health, metrics and the user-facing API (job API, cluster summary, jobs page). With one: the plain
/// port keeps health and metrics (what kubelet probes and Prometheus read inside the cluster) and the user-facing API
/// moves to <see cref="SiloHostOptions.HttpsPort"/>, served over TLS with the cluster certificate, so submitting jobs
/// and reading their status never crosses the network in clear (ADR 18).
/// </summary>
public static class HttpListeners
{
    /// <summary>Whether the user-facing API is served over TLS on its own port.</summary>
    public static bool ApiOverTls(SiloHostOptions host) => host.Tls.CertificatePath is not null && host.HttpsPort != 0;

    /// <summary>Kestrel's listeners: the plain port, and the TLS port when the cluster has its certificate.</summary>
    public static void Configure(IWebHostBuilder web, SiloHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(web);
        ArgumentNullException.ThrowIfNull(host);
        var address = IPAddress.Parse(host.ListenAddress);
        web.ConfigureKestrel(kestrel =>
        {
            if (host.HttpPort != 0)
            {
                kestrel.Listen(address, host.HttpPort);
            }

            if (ApiOverTls(host))
            {
                var certificate = ClusterTls.Load(host.Tls.CertificatePath!, host.Tls.CertificatePassword);
                kestrel.Listen(address, host.HttpsPort, listen => listen.UseHttps(certificate));
            }
        });
    }

    /// <summary>Maps the user-facing API on the port it belongs to (<see cref="Configure"/>).</summary>
    public static void MapUserFacing(WebApplication app, SiloHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(host);
        IEndpointRouteBuilder routes = app;
        if (ApiOverTls(host))
        {
            var group = app.MapGroup("");
            group.RequireHost($"*:{host.HttpsPort}");
            routes = group;
        }

        routes.MapHttpApi(host.ClusterToken);
    }

    /// <summary>Where a browser or the Python client reaches the user-facing API of a silo listening on loopback.</summary>
    public static Uri LoopbackApi(SiloHostOptions host) =>
        ApiOverTls(host) ? new Uri($"https://127.0.0.1:{host.HttpsPort}/") : new Uri($"http://127.0.0.1:{host.HttpPort}/");
}
