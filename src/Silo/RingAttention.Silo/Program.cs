using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Dashboard;
using RingAttention.Grains.Configuration;
using RingAttention.Silo.Api;
using RingAttention.Silo.Hosting;

// One RingAttention silo. Configuration from appsettings.json, environment (Silo__SiloPort=11112) or arguments
// (--Silo:SiloPort=11112 --Silo:Clustering=redis --RingAttention:MaxJobMemoryBytes=...). See README.
ThreadPoolHeadroom.Ensure();
var builder = WebApplication.CreateBuilder(args);
var host = builder.Configuration.GetSection(SiloHostOptions.SectionName).Get<SiloHostOptions>() ?? new SiloHostOptions();
var ringSection = builder.Configuration.GetSection(RingAttentionOptions.SectionName);
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
    o.UseUtcTimestamp = true;
});
// Orleans and Polly (placement retries) log every activation at Information; keep our own events readable.
builder.Logging.AddFilter("Orleans", LogLevel.Warning);
builder.Logging.AddFilter("Polly", LogLevel.Warning);
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
HttpListeners.Configure(builder.WebHost, host);
builder.UseOrleans(silo =>
{
    silo.AddRingAttention(host, options => ringSection.Bind(options));
    if (host.Dashboard)
    {
        silo.AddDashboard();
    }
});
builder.Services.AddHealthChecks().AddCheck<SiloReadinessCheck>("silo", tags: ["ready"]);
builder.Services.AddRingAttentionTelemetry();

var app = builder.Build();
if (host.ListensBeyondLoopback && host.Tls.CertificatePath is null)
{
    app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RingAttention.Security").LogWarning(
        "INSECURE: Silo:Insecure=true and the silo listens on {Address} without TLS: any host that reaches these ports can join the cluster, submit jobs and read or write files under the allowed roots",
        host.ListenAddress);
}

app.MapHealthChecks("/healthz/live", new HealthCheckOptions { Predicate = _ => false });
app.MapHealthChecks("/healthz/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
app.MapPrometheusScrapingEndpoint("/metrics");
// The job API: beyond loopback only with the cluster token (the API takes it as a bearer token); over TLS on its own
// port when the cluster has its certificate (HttpListeners).
if (!host.ListensBeyondLoopback || host.ClusterToken is not null)
{
    HttpListeners.MapUserFacing(app, host);
}
else
{
    app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("RingAttention.Security").LogWarning(
        "The HTTP job API is off: the silo listens on {Address} and has no Silo:ClusterToken to require of its callers", host.ListenAddress);
}

if (host.Dashboard)
{
    app.MapOrleansDashboard("/dashboard");
}

await app.RunAsync();

