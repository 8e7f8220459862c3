using Microsoft.Extensions.Options;

namespace RingAttention.Silo.Hosting;

/// <summary>How a silo joins its cluster and what it computes on (configuration section "Silo").</summary>
public sealed class SiloHostOptions
{
    public const string SectionName = "Silo";

    /// <summary>Membership: "localhost" (development clustering: a primary silo on this machine, for one-machine runs)
    /// or "redis" (a Redis membership table: any number of machines, no primary). <value>Default "localhost".</value></summary>
    public string Clustering { get; set; } = "localhost";

    /// <summary>StackExchange.Redis connection string of the membership store, for Clustering = "redis".
    /// <value>Default "localhost:6379".</value></summary>
    public string RedisConnectionString { get; set; } = "localhost:6379";

    /// <summary>Name of the silo in logs and membership (Kubernetes: the pod name). <value>Default: Orleans picks one.</value></summary>
    public string? SiloName { get; set; }

    /// <summary>HTTP port of /healthz/live, /healthz/ready and /metrics; 0 turns HTTP off. <value>Default 8080.</value></summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>TLS port of the job API, the cluster summary and the jobs page, used when the cluster has its certificate
    /// (<see cref="Tls"/>): the API then leaves <see cref="HttpPort"/>, which keeps health and metrics; 0 serves no API
    /// when there is a certificate. <value>Default 8443.</value></summary>
    public int HttpsPort { get; set; } = 8443;

    /// <summary>How long a membership probe may go unanswered before it counts as missed; two missed probes and
    /// a vote declare a silo dead. Lower it to notice a dead process sooner on one machine.
    /// <value>Default null: Orleans' own (5 s, three missed probes).</value></summary>
    public TimeSpan? ProbeTimeout { get; set; }

    /// <summary>Serve the Orleans dashboard at /dashboard on the HTTP port. It has no authentication: keep it off public
    /// ingress. <value>Default false.</value></summary>
    public bool Dashboard { get; set; }

    /// <summary>TLS between silos and for clients; off unless a certificate is given.</summary>
    public SiloTlsOptions Tls { get; set; } = new();

    /// <summary>Silo-to-silo port. <value>Default 11111.</value></summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Port clients connect to. <value>Default 30000.</value></summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Silo port of the primary silo every other silo joins; 0 means this silo is the primary.
    /// <value>Default 0.</value></summary>
    public int PrimarySiloPort { get; set; }

    /// <summary>K/V data-plane port; 0 picks a free one (it is advertised in silo metadata). <value>Default 0.</value></summary>
    public int DataPort { get; set; }

    /// <summary>Address the silo, gateway, data-plane and HTTP ports listen on ("0.0.0.0": every interface). Anything but
    /// loopback needs TLS (<see cref="Tls"/>) or <see cref="Insecure"/>. <value>Default "127.0.0.1": nothing beyond
    /// this machine can connect.</value></summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>Let a silo listen beyond loopback without TLS: any host that reaches the ports can then join, submit
    /// jobs and read or write files under the allowed roots. For throwaway test clusters on a private network only;
    /// the silo logs a warning at start. <value>Default false.</value></summary>
    public bool Insecure { get; set; }

    /// <summary>Secret every client call must carry (CLI --token or RINGATTN_TOKEN); calls without it are refused.
    /// Complements the pinned TLS certificate when many users share one certificate. <value>Default null: no token.</value></summary>
    public string? ClusterToken { get; set; }

    /// <summary>Address peers use to reach this silo's data plane. <value>Default "127.0.0.1".</value></summary>
    public string AdvertisedHost { get; set; } = "127.0.0.1";

    /// <summary>
    /// Compute devices: "auto" (every CUDA device when present, else CPU), "cuda" (every CUDA device; fail without one),
    /// "cuda:N" or "cuda:0,cuda:1" (those), "cpu", "ilgpu-cpu[:N]" (tests). See DeviceSelection. <value>Default "auto".</value>
    /// </summary>
    public string Device { get; set; } = "auto";

    /// <summary>Orleans cluster id; clients must use the same. <value>Default "ringattention".</value></summary>
    public string ClusterId { get; set; } = "ringattention";

    /// <summary>Orleans service id. <value>Default "ringattention".</value></summary>
    public string ServiceId { get; set; } = "ringattention";

    public bool IsRedis => string.Equals(Clustering, "redis", StringComparison.OrdinalIgnoreCase);

    /// <summary>The parsed <see cref="ListenAddress"/> (validated at start). A method, not a property: configuration
    /// binding (source-generated in a trimmed build) would try to bind an IPAddress.</summary>
    public System.Net.IPAddress ListenIPAddress() => System.Net.IPAddress.Parse(ListenAddress);

    /// <summary>True when some port is reachable from other machines.</summary>
    public bool ListensBeyondLoopback => !System.Net.IPAddress.IsLoopback(ListenIPAddress());
}

/// <summary>
/// One certificate (PKCS#12) shared by the silos and clients of a cluster: every connection is TLS and a peer must
/// present exactly this certificate (pinned by thumbprint), so a machine without it can neither join nor submit.
/// </summary>
public sealed class SiloTlsOptions
{
    /// <summary>Path of the .pfx file. <value>Default null: TLS off.</value></summary>
    public string? CertificatePath { get; set; }

    /// <summary>Password of the .pfx file. <value>Default null.</value></summary>
    public string? CertificatePassword { get; set; }
}

/// <summary>Refuses a bad silo configuration at start-up, naming the field and the rule.</summary>
public sealed class SiloHostOptionsValidator : IValidateOptions<SiloHostOptions>
{

    public static readonly string[] ClusteringModes = ["localhost", "redis"];

    public ValidateOptionsResult Validate(string? name, SiloHostOptions options)
    {
        var failures = new List<string>();
        if (!ClusteringModes.Contains(options.Clustering, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"{nameof(SiloHostOptions.Clustering)} ('{options.Clustering}') must be one of {string.Join(", ", ClusteringModes)}");
        }

        if (options.IsRedis && string.IsNullOrWhiteSpace(options.RedisConnectionString))
        {
            failures.Add($"{nameof(SiloHostOptions.RedisConnectionString)} is required when {nameof(SiloHostOptions.Clustering)} is 'redis'");
        }

        if (options.Tls.CertificatePath is string certificate && !File.Exists(certificate))
        {
            failures.Add($"{nameof(SiloHostOptions.Tls)}:{nameof(SiloTlsOptions.CertificatePath)} ('{certificate}') does not exist");
        }

        CheckPort(failures, nameof(SiloHostOptions.SiloPort), options.SiloPort, allowZero: false);
        CheckPort(failures, nameof(SiloHostOptions.GatewayPort), options.GatewayPort, allowZero: false);
        CheckPort(failures, nameof(SiloHostOptions.PrimarySiloPort), options.PrimarySiloPort, allowZero: true);
        CheckPort(failures, nameof(SiloHostOptions.DataPort), options.DataPort, allowZero: true);
        CheckPort(failures, nameof(SiloHostOptions.HttpPort), options.HttpPort, allowZero: true);
        if (options.SiloPort == options.GatewayPort)
        {
            failures.Add($"{nameof(SiloHostOptions.SiloPort)} and {nameof(SiloHostOptions.GatewayPort)} must differ (both {options.SiloPort})");
        }

        if (!DeviceSelection.IsKnown(options.Device))
        {
            failures.Add($"{nameof(SiloHostOptions.Device)} ('{options.Device}') must be one of {string.Join(", ", DeviceSelection.Names)}");
        }

        if (!System.Net.IPAddress.TryParse(options.ListenAddress, out _))
        {
            failures.Add($"{nameof(SiloHostOptions.ListenAddress)} ('{options.ListenAddress}') must be an IP address (127.0.0.1, 0.0.0.0, or one of this machine's)");
        }
        else if (options.ListensBeyondLoopback && options.Tls.CertificatePath is null && !options.Insecure)
        {
            failures.Add($"{nameof(SiloHostOptions.ListenAddress)} ({options.ListenAddress}) reaches beyond this machine, so the cluster needs TLS: " +
                $"set {nameof(SiloHostOptions.Tls)}:{nameof(SiloTlsOptions.CertificatePath)} (or {nameof(SiloHostOptions.Insecure)}=true for a throwaway test cluster)");
        }

        if (options.ClusterToken is { Length: < 16 })
        {
            failures.Add($"{nameof(SiloHostOptions.ClusterToken)} must be at least 16 characters");
        }

        if (string.IsNullOrWhiteSpace(options.AdvertisedHost))
        {
            failures.Add($"{nameof(SiloHostOptions.AdvertisedHost)} must not be empty");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Validates eagerly, for code that builds a silo from options it was handed.</summary>
    public static void ThrowIfInvalid(SiloHostOptions options)
    {
        var result = new SiloHostOptionsValidator().Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(SiloHostOptions.SectionName, typeof(SiloHostOptions), result.Failures);
        }
    }

    private static void CheckPort(List<string> failures, string field, int port, bool allowZero)
    {
        if (port < (allowZero ? 0 : 1) || port > 65535)
        {
            failures.Add($"{field} ({port}) must be between {(allowZero ? 0 : 1)} and 65535");
        }
    }
}
