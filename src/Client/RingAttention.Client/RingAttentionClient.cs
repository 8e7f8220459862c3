using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using RingAttention.Attention;
using RingAttention.Grains;

namespace RingAttention.Client;

/// <summary>
/// Submits ring-attention jobs to a cluster and follows them. Connect to running silos through their gateways with
/// <see cref="ConnectAsync"/>, or start an in-process cluster with RingAttention.Silo's <c>EmbeddedCluster</c>.
/// </summary>
public sealed class RingAttentionClient : IAsyncDisposable
{
    private readonly IHost? _host;
    private readonly Polly.ResiliencePipeline _calls = RingResilience.CreatePatient();

    /// <summary>Wraps an Orleans client that is already connected (the embedded cluster's, or a test's).</summary>
    public RingAttentionClient(IClusterClient cluster, IHost? ownedHost = null)
    {
        Cluster = cluster;
        _host = ownedHost;
    }

    public IClusterClient Cluster { get; }

    /// <summary>Connects to a cluster through the given gateways (host:port of each silo's gateway).</summary>
    /// <param name="certificate">The cluster's TLS certificate when its silos use TLS (see <see cref="Security.ClusterTls"/>).</param>
    /// <param name="token">The cluster token when its silos require one (Silo:ClusterToken); sent with every call.</param>
    public static async Task<RingAttentionClient> ConnectAsync(
        IEnumerable<IPEndPoint> gateways, string clusterId = "ringattention", string serviceId = "ringattention",
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null, CancellationToken ct = default,
        string? token = null)
    {
        var endpoints = gateways.ToArray();
        if (endpoints.Length == 0)
        {
            throw new ArgumentException("at least one gateway endpoint is required", nameof(gateways));
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.UseStaticClustering(endpoints);
            client.AddActivityPropagation();
            if (token is not null)
            {
                client.AddOutgoingGrainCallFilter(context =>
                {
                    RequestContext.Set(Grains.Security.ClusterToken.RequestContextKey, token);
                    return context.Invoke();
                });
            }

            if (certificate is not null)
            {
                client.UseTls(certificate, tls => Security.ClusterTls.Configure(tls, certificate));
            }

            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = serviceId;
            });
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(ct);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new RingAttentionClient(host.Services.GetRequiredService<IClusterClient>(), host);
    }

    /// <summary>
    /// Submits a job. A spec the cluster refuses throws <see cref="SpecValidationException"/> naming the field and
    /// the rule; nothing has been scheduled then.
    /// </summary>
    public async Task<RingJob> SubmitAsync(JobSpec spec, string? jobId = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        JobSpecLimits.Check(spec);
        jobId ??= NewJobId();
        var job = new RingJob(jobId, Cluster.GetGrain<IJobCoordinatorGrain>(jobId), _calls, spec);
        var status = await _calls.ExecuteAsync(async _ => await job.Coordinator.SubmitAsync(spec), ct);
        if (status.State == JobState.Rejected)
        {
            throw new SpecValidationException(status.ErrorField ?? "spec", status.Error ?? "the job was rejected");
        }

        return job;
    }

    /// <summary>A handle on a job submitted earlier (by id).</summary>
    public RingJob GetJob(string jobId) => new(jobId, Cluster.GetGrain<IJobCoordinatorGrain>(jobId), _calls, spec: null);

    public static string NewJobId() => $"job-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Guid.NewGuid().ToString("N")[..8]}";

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }
}
