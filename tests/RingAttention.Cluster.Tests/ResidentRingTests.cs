using RingAttention.Client.Verification;
using RingAttention.Grains;
using RingAttention.Silo;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>Three silos whose device is the portable kernel on ILGPU's CPU accelerator: the device-resident ring in CI.</summary>
public sealed class ResidentClusterFixture : IAsyncLifetime
{
    public EmbeddedCluster Cluster { get; private set; } = null!;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "ringattn-resident-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        System.IO.Directory.CreateDirectory(Directory);
        Cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
        {
            Silos = 3,
            Device = "ilgpu-cpu",
            AllowedRoots = [Directory],
            // 1 KiB staging buffers: every shard streams its q/K/V to the device and its output back in many chunks.
            Configure = o =>
            {
                o.StepTimeout = TimeSpan.FromSeconds(60);
                o.StagingBufferBytes = 1024;
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

/// <summary>
/// The ring on a device-resident backend: same-silo hand-offs pass device blocks, cross-silo ones are downloaded by
/// the data plane and uploaded by the receiver; the output matches the float64 reference and no device memory is
/// left held when the job ends.
/// </summary>
public sealed class ResidentRingTests(ResidentClusterFixture fixture) : IClassFixture<ResidentClusterFixture>
{
    [Theory]
    [InlineData(4, ShardLayout.Zigzag)]
    [InlineData(4, ShardLayout.Contiguous)]
    [InlineData(1, ShardLayout.Contiguous)]
    public async Task Run_OnResidentDevice_MatchesReference_AndReleasesDeviceMemory(int shards, ShardLayout layout)
    {
        Assert.NotNull(fixture.Cluster.Devices[0].MemoryBytes); // ILGPU's CPU accelerator: a device with its own memory
        string input = fixture.PathFor($"input-{shards}-{layout}.safetensors");
        const int tokens = 150;
        TestInputs.Write(input, tokens, heads: 4, kvHeads: 2, headDim: 64, ElementType.BF16, seed: 3);
        string output = fixture.PathFor($"output-{shards}-{layout}.safetensors");
        var job = await fixture.Cluster.Client.SubmitAsync(new JobSpec
        {
            InputPath = input,
            OutputPath = output,
            Causal = true,
            Shards = shards,
            Layout = layout,
        });
        var status = await job.WaitAsync();
        Assert.True(status.State == JobState.Completed, status.Error);
        Assert.Equal(shards * (shards - 1), status.Totals.LocalHandoffs + status.Totals.RemoteTransfers);
        if (shards == 4)
        {
            // Round-robin over 3 silos: shards 3 and 0 share a silo, so both hand-off paths run.
            Assert.True(status.Totals.LocalHandoffs > 0, "no same-silo hand-off happened");
            Assert.True(status.Totals.RemoteTransfers > 0, "no cross-silo transfer happened");
        }

        var report = OutputVerifier.Verify(input, output, new(true, null), null, rows: tokens);
        Assert.True(report.Passed, report.Failure);
        Assert.Equal(0, fixture.Cluster.Devices.ResidentBytes);
    }
}
