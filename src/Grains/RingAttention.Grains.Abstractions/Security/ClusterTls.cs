using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace RingAttention.Contracts.Security;

/// <summary>
/// TLS with one certificate per cluster: silos and clients present it, and accept a peer only if it presents the
/// same one (thumbprint pinning). No CA is needed, and a stolen client certificate is the only way in, which is what
/// an operator revokes by rotating the cluster's certificate.
/// </summary>
public static class ClusterTls
{
    public static X509Certificate2 Load(string path, string? password) => X509CertificateLoader.LoadPkcs12FromFile(path, password);

    public static void Configure(TlsOptions options, X509Certificate2 certificate)
    {
        options.LocalCertificate = certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (remote, _, _) =>
            remote is not null && string.Equals(remote.Thumbprint, certificate.Thumbprint, StringComparison.OrdinalIgnoreCase);
    }
}
