using System.Net;
using Microsoft.Extensions.Logging;
using RingAttention.Attention;
using RingAttention.Client;
using RingAttention.Client.Logging;
using RingAttention.Silo;

namespace RingAttention.Cli;

/// <summary>
/// A client on an embedded in-process cluster (the default) or on running silos (--cluster host:port,... or
/// redis://host:port), with the framework's logs going to a file rather than the console.
/// </summary>
public sealed class ClusterConnection : IAsyncDisposable
{
    private readonly EmbeddedCluster? _embedded;
    private readonly RingAttentionClient? _remote;
    private readonly FileLog _log;

    private ClusterConnection(EmbeddedCluster? embedded, RingAttentionClient? remote, FileLog log, string description)
    {
        _embedded = embedded;
        _remote = remote;
        _log = log;
        Description = description;
    }

    public RingAttentionClient Client => _embedded?.Client ?? _remote!;

    /// <summary>What this connects to, and where its framework log is.</summary>
    public string Description { get; }

    public string LogPath => _log.Path;

    /// <param name="roots">Directories the embedded cluster's jobs may read and write (ignored for a running cluster,
    /// whose operator configured its own).</param>
    public static async Task<ClusterConnection> OpenAsync(ClusterTarget target, CliSettings output, IReadOnlyList<string> roots, CancellationToken ct)
    {
        var log = output.LogFile is string path ? new FileLog(path) : FileLog.CreateDefault();
        try
        {
            // Warnings and errors always reach the file; --verbose adds Information and shows it on stderr.
            var logging = log.Configure(output.Verbose ? LogLevel.Information : LogLevel.Warning, alsoToStandardError: output.Verbose);
            return await OpenAsync(target, roots, log, logging, ct);
        }
        catch
        {
            log.Dispose();
            throw;
        }
    }

    private static async Task<ClusterConnection> OpenAsync(
        ClusterTarget target, IReadOnlyList<string> roots, FileLog log, Action<ILoggingBuilder> logging, CancellationToken ct)
    {
        string logNote = $"framework log: {log.Path}";
        if (target.Embedded)
        {
            var embedded = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
            {
                Silos = target.Silos,
                Device = target.Device,
                ConfigureLogging = logging,
                AllowedRoots = roots.Distinct(StringComparer.Ordinal).ToList(),
                Configure = o =>
                {
                    if (target.MaxJobMemory is long limit)
                    {
                        o.MaxJobMemoryBytes = limit;
                    }

                    o.SessionRoot = target.SessionRoot;
                },
            }, ct);
            return new ClusterConnection(embedded, null, log,
                $"embedded cluster of {embedded.Hosts.Count} silo{(embedded.Hosts.Count == 1 ? "" : "s")} on {embedded.DeviceName} ({embedded.DeviceReason}); {logNote}");
        }

        var options = new ClientConnectionOptions
        {
            ClusterId = target.ClusterId,
            Certificate = target.TlsCertificate is null ? null : Contracts.Security.ClusterTls.Load(target.TlsCertificate, target.TlsPassword),
            Token = target.Token,
            ConfigureLogging = logging,
        };
        if (target.Cluster!.StartsWith(ClusterTarget.RedisScheme, StringComparison.OrdinalIgnoreCase))
        {
            string redis = target.Cluster[ClusterTarget.RedisScheme.Length..];
            var discovered = await RingAttentionClient.ConnectThroughRedisAsync(redis, options, ct);
            return new ClusterConnection(null, discovered, log, $"cluster {target.ClusterId} (gateways from Redis at {redis}); {logNote}");
        }

        var remote = await RingAttentionClient.ConnectAsync(target.Gateways, options, ct);
        return new ClusterConnection(null, remote, log, $"cluster {target.ClusterId} at {target.Cluster}; {logNote}");
    }

    public async ValueTask DisposeAsync()
    {
        try
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
        finally
        {
            _log.Dispose();
        }
    }

    internal static IPEndPoint ParseEndpoint(string text)
    {
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is < 1 or > 65535)
        {
            throw new SpecValidationException("cluster", $"'{text}' is not host:port (a silo gateway, e.g. localhost:30000)");
        }

        string host = text[..colon];
        try
        {
            var address = IPAddress.TryParse(host, out var parsed) ? parsed : Dns.GetHostAddresses(host).First();
            return new IPEndPoint(address, port);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new SpecValidationException("cluster", $"host '{host}' of gateway '{text}' does not resolve ({e.Message})");
        }
    }
}
