using RingAttention.Attention;

namespace RingAttention.Cli;

/// <summary>
/// Which cluster a command talks to: flags first, then the environment (RINGATTN_CLUSTER, RINGATTN_CLUSTER_ID,
/// RINGATTN_TOKEN; <c>eval "$(scripts/local-cluster.sh env)"</c> sets them), else an embedded cluster.
/// </summary>
/// <param name="Device">The embedded silos' devices (Silo:Device forms: auto, cpu, cuda, cuda:N, lists, ilgpu-cpu[:N]).</param>
public sealed record ClusterTarget(
    string? Cluster, string ClusterId, int? Silos, string? TlsCertificate, string? TlsPassword, string? Token, long? MaxJobMemory,
    string Device = "auto")
{
    /// <summary>The gateways of <see cref="Cluster"/> when it lists them (host:port,...), resolved once; empty otherwise.</summary>
    public IReadOnlyList<System.Net.IPEndPoint> Gateways { get; private init; } = [];

    /// <summary>Where an embedded cluster keeps sessions (null: it keeps none).</summary>
    public string? SessionRoot { get; init; }

    public const string ClusterVariable = "RINGATTN_CLUSTER";
    public const string ClusterIdVariable = "RINGATTN_CLUSTER_ID";

    /// <summary>--cluster redis://HOST:PORT: find the gateways in the cluster's Redis membership table.</summary>
    public const string RedisScheme = "redis://";

    /// <summary>--cluster embedded: an in-process cluster even when RINGATTN_CLUSTER is set.</summary>
    public const string EmbeddedName = "embedded";

    public const string DefaultClusterId = "ringattention";

    public bool Embedded => Cluster is null || Cluster.Equals(EmbeddedName, StringComparison.OrdinalIgnoreCase);

    public static ClusterTarget Resolve(
        string? cluster, string? clusterId, int? silos, string? tlsCertificate, string? tlsPassword, string? token, long? maxJobMemory,
        string device = "auto")
    {
        if (!Silo.Hosting.DeviceSelection.IsKnown(device))
        {
            throw new SpecValidationException("device", $"device '{device}' is not one of {string.Join(", ", Silo.Hosting.DeviceSelection.Names)}");
        }

        cluster = NonEmpty(cluster) ?? NonEmpty(Environment.GetEnvironmentVariable(ClusterVariable));
        var target = new ClusterTarget(cluster,
            NonEmpty(clusterId) ?? NonEmpty(Environment.GetEnvironmentVariable(ClusterIdVariable)) ?? DefaultClusterId,
            silos, tlsCertificate, tlsPassword,
            token ?? NonEmpty(Environment.GetEnvironmentVariable(Contracts.Security.ClusterToken.EnvironmentVariable)), maxJobMemory, device);
        if (target.Embedded && silos < 1)
        {
            throw new SpecValidationException("silos", $"silos ({silos}) must be at least 1");
        }

        if (!target.Embedded && !target.Cluster!.StartsWith(RedisScheme, StringComparison.OrdinalIgnoreCase))
        {
            // A malformed gateway is a local mistake: say so now, before anything connects.
            target = target with
            {
                Gateways = [.. target.Cluster.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ClusterConnection.ParseEndpoint)],
            };
        }

        return target;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
