using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RingAttention.Attention;
using RingAttention.Grains.DataPlane;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Tests;

/// <summary>The data plane under the cluster certificate: only a peer holding the same certificate gets K/V bytes.</summary>
public sealed class DataPlaneTlsTests : IAsyncLifetime
{
    private readonly BlockStore _store = new();
    private readonly X509Certificate2 _cluster = SelfSigned();
    private readonly RingAttention.Grains.Devices.ComputeDevice _device = new(new RingAttention.Kernels.Cpu.CpuAttentionBackend());
    private DataPlaneServer _server = null!;

    public Task InitializeAsync()
    {
        _server = new DataPlaneServer(_store, IPAddress.Loopback, 0, "127.0.0.1", new DataPlaneTls(_cluster));
        _server.Start(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _device.Dispose();
    }

    [Fact]
    public async Task Fetch_PeerWithClusterCertificate_ArrivesIntact()
    {
        var (block, checksum) = Publish();

        byte[] bytes = await new DataPlaneClient(new DataPlaneTls(_cluster)).FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None);

        Assert.Equal(block.Keys.Data.ToArray().Concat(block.Values.Data.ToArray()), bytes);
    }

    [Fact]
    public async Task Fetch_PeerWithAnotherCertificate_RefusedAndBlockKept()
    {
        var (block, checksum) = Publish();

        await Assert.ThrowsAnyAsync<IOException>(() =>
            new DataPlaneClient(new DataPlaneTls(SelfSigned())).FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None));

        Assert.Equal(1, _store.Count);
    }

    [Fact]
    public async Task Fetch_PlainTcpPeer_GetsNoBytes()
    {
        var (block, checksum) = Publish();

        await Assert.ThrowsAnyAsync<IOException>(() =>
            new DataPlaneClient().FetchAsync(_server.Endpoint, "secret", "b", block.Bytes, checksum, CancellationToken.None));

        Assert.Equal(1, _store.Count);
    }

    private (KeyValueBlock Block, uint Checksum) Publish()
    {
        byte[] keys = new byte[300 * 2 * 8 * 2];
        byte[] values = new byte[keys.Length];
        new Random(1).NextBytes(keys);
        new Random(2).NextBytes(values);
        var spans = new[] { new TokenSpan(0, 300) };
        var block = new KeyValueBlock(new TensorRows(ElementType.BF16, 2, 8, spans, keys), new TensorRows(ElementType.BF16, 2, 8, spans, values));
        var published = RingAttention.Grains.Ring.ResidentBlock.Upload(_device, block);
        _store.Put("b", new StoredBlock("job", 1, "secret", published));
        return (block, published.Checksum);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=ringattention-cluster", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        // Re-imported from PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
