using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace RingAttention.Grains.DataPlane;

/// <summary>
/// TLS for the K/V data plane with the cluster certificate, the same trust as the silos' Orleans connections (ADR 9):
/// both ends present the one cluster certificate and accept a peer only if it presents the same (thumbprint pinning).
/// Without it, K/V blocks crossed the network in the clear whenever silos listened beyond loopback.
/// </summary>
public sealed class DataPlaneTls(X509Certificate2 certificate)
{
    private const SslProtocols Protocols = SslProtocols.Tls13 | SslProtocols.Tls12;

    public Task<Stream> AcceptAsync(Stream network, CancellationToken ct) =>
        AuthenticateAsync(network, ssl => ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
        {
            ServerCertificate = certificate,
            ClientCertificateRequired = true,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        }, ct));

    public Task<Stream> ConnectAsync(Stream network, string host, CancellationToken ct) =>
        AuthenticateAsync(network, ssl => ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = host,
            ClientCertificates = [certificate],
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        }, ct));

    private async Task<Stream> AuthenticateAsync(Stream network, Func<SslStream, Task> handshake)
    {
        var ssl = new SslStream(network, leaveInnerStreamOpen: false, Pinned);
        try
        {
            await handshake(ssl).ConfigureAwait(false);
            return ssl;
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Name, chain and dates do not matter: the peer must hold exactly the cluster's certificate.</summary>
    private bool Pinned(object sender, X509Certificate? remote, X509Chain? chain, SslPolicyErrors errors) =>
        remote is not null && string.Equals(remote.GetCertHashString(), certificate.Thumbprint, StringComparison.OrdinalIgnoreCase);
}
