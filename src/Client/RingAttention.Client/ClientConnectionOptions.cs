using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace RingAttention.Client;

/// <summary>How a client finds, proves itself to and logs about a cluster.</summary>
public sealed record ClientConnectionOptions
{
    /// <summary>The cluster id the silos were started with (Silo:ClusterId). <value>Default "ringattention".</value></summary>
    public string ClusterId { get; init; } = "ringattention";

    public string ServiceId { get; init; } = "ringattention";

    /// <summary>The cluster's TLS certificate when its silos use TLS (see <see cref="Contracts.Security.ClusterTls"/>).</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>The cluster token when its silos require one (Silo:ClusterToken); sent with every call.</summary>
    public string? Token { get; init; }

    /// <summary>
    /// How long to try the gateways before giving up with <see cref="ClusterUnreachableException"/>. Orleans alone
    /// retries for about three minutes; a user at a prompt wants to hear within seconds that the address or the
    /// cluster id is wrong. <value>Default 10 s (a diagnosis of up to 2 s follows).</value>
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the Orleans client's own logs go. <value>Default null: nowhere. A library does not write to its
    /// caller's console; failures reach the caller as exceptions and job statuses.</value>
    /// </summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}
