using Microsoft.Extensions.Options;
using RingAttention.Silo.Hosting;

namespace RingAttention.Cluster.Tests;

/// <summary>Secure by default: silos listen on loopback, and listening beyond it needs TLS or an explicit Insecure.</summary>
public sealed class ListenPostureTests
{
    [Fact]
    public void Defaults_ListenOnLoopbackOnly()
    {
        var options = new SiloHostOptions();

        Assert.Equal("127.0.0.1", options.ListenAddress);
        Assert.False(options.ListensBeyondLoopback);
        Assert.False(options.Insecure);
        SiloHostOptionsValidator.ThrowIfInvalid(options);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("10.1.2.3")]
    [InlineData("::")]
    public void BeyondLoopbackWithoutTls_RefusedNamingTheFix(string address)
    {
        var error = Assert.Throws<OptionsValidationException>(() => SiloHostOptionsValidator.ThrowIfInvalid(new SiloHostOptions { ListenAddress = address }));

        Assert.Contains("ListenAddress", error.Message, StringComparison.Ordinal);
        Assert.Contains("Tls:CertificatePath", error.Message, StringComparison.Ordinal);
        Assert.Contains("Insecure=true", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BeyondLoopbackInsecureOnPurpose_Accepted() =>
        SiloHostOptionsValidator.ThrowIfInvalid(new SiloHostOptions { ListenAddress = "0.0.0.0", Insecure = true });

    [Theory]
    [InlineData("localhost")]
    [InlineData("not-an-address")]
    public void ListenAddressNotAnIp_Refused(string address) =>
        Assert.Throws<OptionsValidationException>(() => SiloHostOptionsValidator.ThrowIfInvalid(new SiloHostOptions { ListenAddress = address }));

    [Fact]
    public void ShortClusterToken_Refused() =>
        Assert.Throws<OptionsValidationException>(() => SiloHostOptionsValidator.ThrowIfInvalid(new SiloHostOptions { ClusterToken = "short" }));
}
