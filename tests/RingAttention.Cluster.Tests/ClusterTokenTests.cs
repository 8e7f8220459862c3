using System.Net;
using RingAttention.Client;
using RingAttention.Grains;
using RingAttention.Contracts.Security;
using RingAttention.Silo;

namespace RingAttention.Cluster.Tests;

/// <summary>A cluster with a token serves only clients that present it; the silos' own calls need none.</summary>
/// <remarks>On <see cref="ApiClusterFixture"/>'s cluster: 2 silos with a token (it also serves the HTTP API).</remarks>
public sealed class ClusterTokenTests(ApiClusterFixture fixture) : IClassFixture<ApiClusterFixture>
{
    [Fact]
    public async Task Submit_ClientWithToken_Completes()
    {
        var job = await fixture.Cluster.Client.SubmitAsync(Job("with-token"));
        Assert.Equal(JobState.Completed, (await job.WaitAsync()).State);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("a-wrong-token-same-lengthxx")]
    public async Task Submit_ClientWithoutTheToken_RefusedAndNothingWritten(string? token)
    {
        await using var stranger = await RingAttentionClient.ConnectAsync(
            fixture.Cluster.Hosts.Select(h => new IPEndPoint(IPAddress.Loopback, h.GatewayPort)),
            new ClientConnectionOptions { ClusterId = fixture.Cluster.Hosts[0].ClusterId, ServiceId = fixture.Cluster.Hosts[0].ServiceId, Token = token });
        var spec = Job("stranger");

        var error = await Assert.ThrowsAsync<ClusterAuthenticationException>(() => stranger.SubmitAsync(spec));

        Assert.Contains("token", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(spec.OutputPath));
        Assert.Empty(Directory.GetFiles(fixture.Directory, "*stranger*"));
        // Reading someone else's job is refused as well.
        await Assert.ThrowsAsync<ClusterAuthenticationException>(() => stranger.GetJob("job-any").GetStatusAsync());
    }

    private JobSpec Job(string name) => new()
    {
        SyntheticSeed = 1, Tokens = 128, Heads = 2, KvHeads = 1, HeadDim = 16, Shards = 2, Causal = true,
        OutputPath = Path.Combine(fixture.Directory, name + ".safetensors"),
    };
}
