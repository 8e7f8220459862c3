using RingAttention.Client.Verification;
using RingAttention.Silo;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Several devices in one silo, in CI: two to eight ILGPU CPU accelerators stand in for the GPUs of one host. The
/// ring places consecutive shards on the same device, blocks cross devices device to device (peer access), and a
/// second silo in the process adds cross-silo transfers; the output matches the float64 reference and no device
/// memory is left held.
/// </summary>
public sealed class MultiDeviceRingTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ringattn-multi-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [InlineData("ilgpu-cpu:2", null, 8, ShardLayout.Zigzag)]
    [InlineData("ilgpu-cpu:3", null, 5, ShardLayout.Contiguous)]
    [InlineData("ilgpu-cpu:2", 2, 8, ShardLayout.Zigzag)]
    [InlineData("ilgpu-cpu:4", null, 8, ShardLayout.Zigzag)]
    [InlineData("ilgpu-cpu:8", null, 16, ShardLayout.Zigzag)]
    public async Task Run_OnSeveralDevicesOfOneSilo_MatchesReference_WithDeviceToDeviceHandOffs(string device, int? silos, int shards, ShardLayout layout)
    {
        await using var cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
        {
            Silos = silos,
            Device = device,
            AllowedRoots = [_directory],
            Configure = o => o.StepTimeout = TimeSpan.FromSeconds(60),
        });
        int devices = cluster.Devices.Count;
        Assert.Equal(silos ?? 1, cluster.Hosts.Count); // several devices: one silo owns them all unless told otherwise
        string input = Path.Combine(_directory, $"in-{devices}-{shards}.safetensors");
        const int tokens = 131;
        TestInputs.Write(input, tokens, heads: 4, kvHeads: 2, headDim: 32, ElementType.BF16, seed: 5);
        string output = Path.Combine(_directory, $"out-{devices}-{shards}-{silos}.safetensors");

        var job = await cluster.Client.SubmitAsync(new JobSpec { InputPath = input, OutputPath = output, Causal = true, Shards = shards, Layout = layout });
        var status = await job.WaitAsync();

        Assert.True(status.State == JobState.Completed, status.Error);
        var t = status.Totals;
        Assert.Equal(shards * (shards - 1), t.LocalHandoffs + t.PeerCopies + t.StagedCopies + t.RemoteTransfers);
        Assert.Equal(0, t.StagedCopies); // accelerators of one silo have peer access
        // Consecutive shards share a device: each step crosses a device boundary once per device in use, not per shard.
        int siloCount = silos ?? 1;
        Assert.Equal((shards - 1) * devices * siloCount, t.PeerCopies + t.RemoteTransfers);
        Assert.True(t.PeerCopies > 0, "no block went device to device");
        Assert.True(siloCount == 1 ? t.RemoteTransfers == 0 : t.RemoteTransfers > 0, $"remote transfers {t.RemoteTransfers} with {siloCount} silo(s)");
        long blockBytesMost = 2L * ((tokens + shards - 1) / shards + 1) * 2 * 32 * 2; // K and V, 2 kv heads, d 32, bf16
        Assert.InRange(t.PeerBytes, t.PeerCopies, t.PeerCopies * blockBytesMost);
        var report = OutputVerifier.Verify(input, output, new(true, null), null, rows: tokens);
        Assert.True(report.Passed, report.Failure);
        Assert.Equal(0, cluster.Devices.ResidentBytes);
    }
}
