using RingAttention.Client;

namespace RingAttention.Integration.Tests;

/// <summary>Three silo processes with Redis membership, started once for the collection.</summary>
public sealed class HarnessFixture : IAsyncLifetime
{
    public const int Silos = 3;

    /// <summary>Per-silo memory budget for jobs (RingAttention:SiloMemoryBytes) in these tests.</summary>
    public const long SiloMemoryBytes = 96L << 20;

    public LocalCluster Cluster { get; private set; } = null!;

    public RingAttentionClient Client { get; private set; } = null!;

    /// <summary>Why the harness could not start (tests skip saying so), or null.</summary>
    public string? Unavailable { get; private set; }

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ringattn-harness-").FullName;

    public async Task InitializeAsync()
    {
        int portBase = 200 + (Environment.ProcessId % 40 * 20);
        Cluster = new LocalCluster(Path.Combine(Directory, "state"), portBase, redisPort: 6400 + (Environment.ProcessId % 500), dataDirectory: Directory,
            siloArgs: $"--Silo:ProbeTimeout=00:00:01 --RingAttention:StepTimeout=00:00:30 --RingAttention:SiloMemoryBytes={SiloMemoryBytes} " +
                $"--RingAttention:SessionRoot={Path.Combine(Directory, "sessions")}");
        try
        {
            await Cluster.StartAsync(Silos);
        }
        catch (InvalidOperationException e) when (e.Message.Contains("redis", StringComparison.OrdinalIgnoreCase))
        {
            Unavailable = "the local cluster harness could not start Redis: " + e.Message;
            return;
        }

        // Gateways from the membership table: a frozen silo's gateway is dropped once the cluster declares it dead.
        Client = await RingAttentionClient.ConnectThroughRedisAsync(
            $"localhost:{Cluster.RedisPort}", new ClientConnectionOptions { ClusterId = await Cluster.ClusterIdAsync() });
    }

    public async Task DisposeAsync()
    {
        if (Unavailable is null)
        {
            await Client.DisposeAsync();
        }

        await Cluster.StopAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    public string PathFor(string name) => Path.Combine(Directory, name);
}

[CollectionDefinition(Name)]
public sealed class HarnessCollection : ICollectionFixture<HarnessFixture>
{
    public const string Name = "harness";
}
