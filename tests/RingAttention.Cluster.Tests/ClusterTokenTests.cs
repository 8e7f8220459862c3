using System.Net;
using RingAttention.Client;
using RingAttention.Grains;
using RingAttention.Grains.Security;
using RingAttention.Silo;

namespace RingAttention.Cluster.Tests;

/// <summary>A cluster with a token serves only clients that present it; the silos' own calls need none.</summary>
public sealed class ClusterTokenTests : IAsyncLifetime
{
    private const string Token = "a-cluster-token-of-some-length";
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-token-").FullName;
    private EmbeddedCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
    {
        Silos = 2,
        Device = "cpu",
        ClusterToken = Token,
        AllowedRoots = [_directory],
    });

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Submit_ClientWithToken_Completes()
    {
        var job = await _cluster.Client.SubmitAsync(Job("with-token"));
        Assert.Equal(JobState.Completed, (await job.WaitAsync()).State);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a-wrong-token-of-the-same-len")]
    public async Task Submit_ClientWithoutTheToken_RefusedAndNothingWritten(string? token)
    {
        await using var stranger = await RingAttentionClient.ConnectAsync(
            _cluster.Hosts.Select(h => new IPEndPoint(IPAddress.Loopback, h.GatewayPort)),
            _cluster.Hosts[0].ClusterId, _cluster.Hosts[0].ServiceId, token: token);
        var spec = Job("stranger");

        var error = await Assert.ThrowsAsync<ClusterAuthenticationException>(() => stranger.SubmitAsync(spec));

        Assert.Contains("token", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(spec.OutputPath));
        Assert.Empty(Directory.GetFiles(_directory));
        // Reading someone else's job is refused as well.
        await Assert.ThrowsAsync<ClusterAuthenticationException>(() => stranger.GetJob("job-any").GetStatusAsync());
    }

    private JobSpec Job(string name) => new()
    {
        SyntheticSeed = 1, Tokens = 128, Heads = 2, KvHeads = 1, HeadDim = 16, Shards = 2, Causal = true,
        OutputPath = Path.Combine(_directory, name + ".safetensors"),
    };
}
