using System.Globalization;

namespace RingAttention.Integration.Tests;

/// <summary>Secure by default, checked on the sockets themselves: a silo started with default settings listens on loopback only.</summary>
[Collection(HarnessCollection.Name)]
public sealed class ListenAddressTests(HarnessFixture fixture)
{
    [SkippableFact]
    public void DefaultSilo_EveryPortListensOnLoopbackOnly()
    {
        Skip.If(fixture.Unavailable is not null, fixture.Unavailable);
        Skip.IfNot(File.Exists("/proc/net/tcp"), "needs Linux's /proc/net/tcp");
        int b = fixture.Cluster.PortBase;
        // local-cluster.sh's ports for silo 0: silo, gateway, data plane, HTTP.
        int[] ports = [11111 + b, 30000 + b, 11200 + b, 8080 + b];
        var listening = Listeners();

        foreach (int port in ports)
        {
            var addresses = listening.Where(l => l.Port == port).Select(l => l.Address).ToList();
            Assert.True(addresses.Count > 0, $"nothing listens on port {port}");
            Assert.All(addresses, a => Assert.Equal("0100007F", a)); // 127.0.0.1, little-endian hex
        }

        // And nothing of the silo's listens on IPv6 wildcard or any other address.
        Assert.DoesNotContain(ListenersV6(), l => ports.Contains(l.Port));
    }

    private static List<(string Address, int Port)> Listeners() => Parse("/proc/net/tcp");

    private static List<(string Address, int Port)> ListenersV6() => File.Exists("/proc/net/tcp6") ? Parse("/proc/net/tcp6") : [];

    /// <summary>Rows of /proc/net/tcp in state 0A (LISTEN): local address and port.</summary>
    private static List<(string Address, int Port)> Parse(string table) => File.ReadLines(table).Skip(1)
        .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        .Where(f => f.Length > 3 && f[3] == "0A")
        .Select(f => (f[1].Split(':')[0], int.Parse(f[1].Split(':')[1], NumberStyles.HexNumber)))
        .ToList();
}
