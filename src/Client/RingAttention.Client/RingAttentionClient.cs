using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using RingAttention.Attention;

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
    /// <exception cref="ClusterUnreachableException">No gateway of the cluster answered within the connect timeout.</exception>
    public static Task<RingAttentionClient> ConnectAsync(
        IEnumerable<IPEndPoint> gateways, ClientConnectionOptions? options = null, CancellationToken ct = default)
    {
        var endpoints = gateways.ToArray();
        if (endpoints.Length == 0)
        {
            throw new ArgumentException("at least one gateway endpoint is required", nameof(gateways));
        }

        return ConnectCoreAsync(client => client.UseStaticClustering(endpoints), string.Join(", ", endpoints.Select(e => e.ToString())),
            options ?? new(), ct, () => GatewayProbe.DescribeAsync(endpoints, TimeSpan.FromSeconds(2)));
    }

    /// <summary>
    /// Connects through the gateways that the cluster's Redis membership table lists as active, refreshed every
    /// <see cref="GatewayRefreshPeriod"/>. A fixed gateway list cannot drop a silo that is frozen (SIGSTOP, a hung
    /// VM): its sockets stay open, so calls routed through it time out until it dies. From the membership table,
    /// the client stops using a gateway as soon as the cluster has declared its silo dead.
    /// </summary>
    public static Task<RingAttentionClient> ConnectThroughRedisAsync(
        string redisConnectionString, ClientConnectionOptions? options = null, CancellationToken ct = default) =>
        ConnectCoreAsync(client =>
        {
            client.UseRedisClustering(redisConnectionString);
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = GatewayRefreshPeriod);
        }, $"the gateways listed in Redis at {redisConnectionString}", options ?? new(), ct,
            () => Task.FromResult($"Redis at {redisConnectionString} is unreachable, or lists no live silo of that cluster id"));

    /// <summary>How often a client that discovers gateways from membership re-reads them.</summary>
    public static readonly TimeSpan GatewayRefreshPeriod = TimeSpan.FromSeconds(2);

    private static async Task<RingAttentionClient> ConnectCoreAsync(
        Action<IClientBuilder> clustering, string where, ClientConnectionOptions options, CancellationToken ct, Func<Task<string>> diagnose)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.UseOrleansClient(client =>
        {
            clustering(client);
            client.AddActivityPropagation();
            if (options.Token is string token)
            {
                client.AddOutgoingGrainCallFilter(context =>
                {
                    RequestContext.Set(Contracts.Security.ClusterToken.RequestContextKey, token);
                    return context.Invoke();
                });
            }

            if (options.Certificate is { } certificate)
            {
                client.UseTls(certificate, tls => Contracts.Security.ClusterTls.Configure(tls, certificate));
            }

            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = options.ClusterId;
                o.ServiceId = options.ServiceId;
            });
        });
        var host = builder.Build();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.ConnectTimeout);
        try
        {
            await host.StartAsync(deadline.Token);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            host.Dispose();
            throw new ClusterUnreachableException(
                $"could not join cluster '{options.ClusterId}' through {where} within {options.ConnectTimeout.TotalSeconds:0} s: {await diagnose()}. " +
                $"Check that the cluster is running and that its id is '{options.ClusterId}' (scripts/local-cluster.sh id prints a local " +
                "cluster's id; a silo's Silo:ClusterId setting is its id).", e);
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

    /// <summary>Creates a session <paramref name="sessionId"/> from a k, v (optionally q) file; refused with
    /// <see cref="SpecValidationException"/> (nothing created) when the spec, the file or the page pools say no.</summary>
    public async Task<(RingSession Session, Contracts.Sessions.SessionStatus Status)> CreateSessionAsync(string sessionId, Contracts.Sessions.SessionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var session = GetSession(sessionId);
        return (session, await session.CreateAsync(spec));
    }

    /// <summary>A handle on a session (created earlier, by this client or another).</summary>
    public RingSession GetSession(string sessionId) =>
        new(sessionId, Cluster.GetGrain<Contracts.Sessions.ISessionGrain>(sessionId), _calls);

    /// <summary>Ids of the sessions on the cluster's session storage.</summary>
    public async Task<IReadOnlyList<string>> ListSessionsAsync(CancellationToken ct = default) =>
        await _calls.ExecuteAsync(async _ => await Cluster.GetGrain<Contracts.Sessions.ISessionDirectoryGrain>(0).ListAsync(), ct);

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
