using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RingAttention.Client;
using RingAttention.Grains;
using RingAttention.Silo;

namespace RingAttention.Cluster.Tests;

/// <summary>TLS with a pinned cluster certificate: the holder of the certificate runs jobs, nobody else connects.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-tls-").FullName;
    private EmbeddedCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        string certificate = WriteSelfSigned("cluster.pfx", "CN=ringattention-cluster");
        _cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
        {
            Silos = 2,
            Device = "cpu",
            TlsCertificatePath = certificate,
            TlsCertificatePassword = "pw",
            AllowedRoots = [_directory],
            HttpApi = true,
            ClusterToken = "tls-api-token-of-some-length",
        });
    }

    /// <summary>With a certificate the job API and the jobs page are served over TLS with it; the plain port has neither.</summary>
    [Fact]
    public async Task HttpApi_WithClusterCertificate_ServedOverTlsOnly()
    {
        string pinned = X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(_directory, "cluster.pfx"), "pw").Thumbprint;
        string? presented = null;
        using var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                presented = certificate?.Thumbprint;
                return string.Equals(presented, pinned, StringComparison.OrdinalIgnoreCase);
            },
        };
        using var https = new HttpClient(handler) { BaseAddress = _cluster.HttpEndpoints[0] };
        https.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "tls-api-token-of-some-length");
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_cluster.Hosts[0].HttpPort}/") };

        using var jobs = await https.GetAsync("v1/jobs");
        using var page = await https.GetAsync("/");
        using var plainJobs = await plain.GetAsync("v1/jobs");
        using var plainPage = await plain.GetAsync("/");

        Assert.Equal("https", _cluster.HttpEndpoints[0].Scheme);
        Assert.Equal(HttpStatusCode.OK, jobs.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(pinned, presented);
        Assert.Equal(HttpStatusCode.NotFound, plainJobs.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, plainPage.StatusCode);
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Run_ClientWithClusterCertificate_CompletesOverTls()
    {
        var job = await _cluster.Client.SubmitAsync(new JobSpec
        {
            SyntheticSeed = 2, Tokens = 300, Heads = 2, KvHeads = 1, HeadDim = 16, Shards = 2, Causal = true,
            OutputPath = Path.Combine(_directory, "o.safetensors"),
        });

        Assert.Equal(JobState.Completed, (await job.WaitAsync()).State);
    }

    [Fact]
    public async Task Connect_WithoutCertificate_Refused()
    {
        await AssertRefusedAsync(certificate: null);
    }

    [Fact]
    public async Task Connect_WithAnotherCertificate_Refused()
    {
        string stranger = WriteSelfSigned("stranger.pfx", "CN=ringattention-cluster");
        await AssertRefusedAsync(X509CertificateLoader.LoadPkcs12FromFile(stranger, "pw"));
    }

    [Fact]
    public async Task Handshake_StrangerCertificateAtGateway_RejectedByServer()
    {
        using var stranger = X509CertificateLoader.LoadPkcs12FromFile(WriteSelfSigned("raw.pfx", "CN=stranger"), "pw");
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, _cluster.Hosts[0].GatewayPort);
        using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);

        var handshake = async () =>
        {
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "ringattention",
                ClientCertificates = [stranger],
            });
            // TLS 1.3 reports a rejected client certificate on the first read, not in the handshake.
            int read = await tls.ReadAsync(new byte[1]).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            if (read == 0)
            {
                throw new IOException("server closed the connection");
            }
        };

        await Assert.ThrowsAnyAsync<IOException>(handshake);
    }

    private async Task AssertRefusedAsync(X509Certificate2? certificate)
    {
        var gateways = _cluster.Hosts.Select(h => new IPEndPoint(IPAddress.Loopback, h.GatewayPort));
        // A client with the certificate connects in well under a second; without it the TLS handshake never completes.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var attempt = async () =>
        {
            await using var client = await RingAttentionClient.ConnectAsync(
                gateways, new ClientConnectionOptions { ClusterId = _cluster.Hosts[0].ClusterId, Certificate = certificate }, timeout.Token);
            await client.GetJob("probe").GetStatusAsync(timeout.Token);
        };

        var error = await Assert.ThrowsAnyAsync<Exception>(attempt);
        Assert.NotNull(error);
    }

    private string WriteSelfSigned(string name, string subject)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, "pw"));
        return path;
    }
}
