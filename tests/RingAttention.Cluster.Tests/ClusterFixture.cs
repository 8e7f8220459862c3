using RingAttention.Silo;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// One embedded cluster of three real silos (loopback TCP, development clustering, memory streams) shared by every
/// test of the collection, and a scratch directory for tensor files.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    /// <summary>Small enough that a test can exceed it with a synthetic job, large enough for every other test.</summary>
    public const long MemoryLimitBytes = 256L << 20;

    public EmbeddedCluster Cluster { get; private set; } = null!;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "ringattn-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        Cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
        {
            Silos = 3,
            Device = "cpu",
            AllowedRoots = [Directory],
            Configure = o =>
            {
                o.MaxJobMemoryBytes = MemoryLimitBytes;
                o.StepTimeout = TimeSpan.FromSeconds(60);
            },
        });
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    public string PathFor(string name) => Path.Combine(Directory, name);
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
