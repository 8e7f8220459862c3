using System.Net;
using Microsoft.Extensions.Logging;
using RingAttention.Attention;
using RingAttention.Client;
using RingAttention.Silo;

namespace RingAttention.Cli;

/// <summary>A client on an embedded in-process cluster (the default) or on running silos (--cluster host:port,...).</summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly EmbeddedCluster? _embedded;
    private readonly RingAttentionClient? _remote;

    private ClusterConnection(EmbeddedCluster? embedded, RingAttentionClient? remote, string description)
    {
        _embedded = embedded;
        _remote = remote;
        Description = description;
    }

    public RingAttentionClient Client => _embedded?.Client ?? _remote!;

    public string Description { get; }

    /// <summary>For <c>run</c>: an embedded cluster may touch only the directories of the files the user named.</summary>
    public static Task<ClusterConnection> OpenAsync(Commands.RunSettings settings, CancellationToken ct) =>
        OpenAsync(settings.Cluster, settings.Silos, ct, [DirectoryOf(settings.Inputs!), DirectoryOf(settings.Output!)], settings.ClusterId,
            settings.TlsCertificate is null ? null : RingAttention.Client.Security.ClusterTls.Load(settings.TlsCertificate, settings.TlsPassword),
            settings.MaxJobMemory, settings.Token ?? Environment.GetEnvironmentVariable(Grains.Security.ClusterToken.EnvironmentVariable));

    /// <param name="roots">Directories the embedded cluster's jobs may read and write (ignored for a running cluster,
    /// whose operator configured its own).</param>
    public static async Task<ClusterConnection> OpenAsync(
        string? cluster, int silos, CancellationToken ct, IReadOnlyList<string> roots, string clusterId = "ringattention",
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null, long? maxJobMemory = null, string? token = null)
    {
        if (string.IsNullOrWhiteSpace(cluster))
        {
            if (silos < 1)
            {
                throw new SpecValidationException("silos", $"silos ({silos}) must be at least 1");
            }

            var embedded = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
            {
                Silos = silos,
                LogLevel = LogLevel.Warning,
                AllowedRoots = roots.Distinct(StringComparer.Ordinal).ToList(),
                Configure = maxJobMemory is long limit ? o => o.MaxJobMemoryBytes = limit : null,
            }, ct);
            return new ClusterConnection(embedded, null, $"embedded cluster of {silos} silos on {embedded.DeviceName} ({embedded.DeviceReason})");
        }

        if (cluster.StartsWith(RedisScheme, StringComparison.OrdinalIgnoreCase))
        {
            string redis = cluster[RedisScheme.Length..];
            var discovered = await RingAttentionClient.ConnectThroughRedisAsync(redis, clusterId, certificate: certificate, ct: ct, token: token);
            return new ClusterConnection(null, discovered, $"cluster {clusterId} (gateways from Redis at {redis})");
        }

        var gateways = cluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseEndpoint).ToArray();
        var remote = await RingAttentionClient.ConnectAsync(gateways, clusterId, certificate: certificate, ct: ct, token: token);
        return new ClusterConnection(null, remote, $"cluster at {cluster}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
        }

        if (_remote is not null)
        {
            await _remote.DisposeAsync();
        }
    }

    /// <summary>--cluster redis://HOST:PORT: find the gateways in the cluster's Redis membership table.</summary>
    public const string RedisScheme = "redis://";

    private static string DirectoryOf(string path) => Path.GetDirectoryName(Path.GetFullPath(path))!;

    private static IPEndPoint ParseEndpoint(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is < 1 or > 65535)
        {
            throw new SpecValidationException("cluster", $"'{text}' is not host:port (a silo gateway, e.g. localhost:30000)");
        }

        string host = text[..colon];
        var address = IPAddress.TryParse(host, out var parsed) ? parsed : Dns.GetHostAddresses(host).First();
        return new IPEndPoint(address, port);
    }
}
