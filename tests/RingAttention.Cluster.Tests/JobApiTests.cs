using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using RingAttention.Client.Verification;
using RingAttention.Silo;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>A 2-silo cluster with a cluster token whose silos serve the HTTP job API on loopback.</summary>
public sealed class ApiClusterFixture : IAsyncLifetime
{
    public const string Token = "an-api-token-of-some-length";

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ringattn-api-").FullName;

    public EmbeddedCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
    {
        Silos = 2,
        Device = "cpu",
        ClusterToken = Token,
        AllowedRoots = [Directory],
        HttpApi = true,
        Configure = o => o.SessionRoot = Path.Combine(Directory, "sessions"),
    });

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>An HTTP client of silo <paramref name="silo"/>'s API, with the token unless told otherwise.</summary>
    public HttpClient Http(int silo = 0, string? token = Token)
    {
        var http = new HttpClient { BaseAddress = Cluster.HttpEndpoints[silo], Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }
}

/// <summary>
/// The HTTP job API (issue 17) against real silos: a job submitted as JSON runs, its events stream until it completes
/// and its output verifies; bad requests get 4xx with the field at fault and write nothing.
/// </summary>
public sealed class JobApiTests(ApiClusterFixture fixture) : IClassFixture<ApiClusterFixture>
{
    [Fact]
    public async Task Submit_StreamsEventsUntilCompleted_AndTheOutputVerifies()
    {
        string input = Path.Combine(fixture.Directory, "api-qkv.safetensors"), output = Path.Combine(fixture.Directory, "api-o.safetensors");
        TestInputs.Write(input, 1000, 4, 2, 32, ElementType.BF16, seed: 3);
        using var http = fixture.Http(silo: 1);

        using var submitted = await http.PostAsync("v1/jobs", Json($$"""{"inputPath": "{{input}}", "outputPath": "{{output}}", "causal": true, "shards": 3}"""));

        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        using var created = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync());
        string id = created.RootElement.GetProperty("jobId").GetString()!;
        Assert.Equal($"/v1/jobs/{id}", submitted.Headers.Location?.OriginalString);

        // Server-Sent Events: status objects until the final one.
        using var events = await http.GetAsync($"v1/jobs/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType?.MediaType);
        var states = new List<string>();
        using (var reader = new StreamReader(await events.Content.ReadAsStreamAsync()))
        {
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    using var status = JsonDocument.Parse(line["data: ".Length..]);
                    states.Add(status.RootElement.GetProperty("state").GetString()!);
                }
            }
        }

        Assert.Equal("Completed", states[^1]);
        using var final = await http.GetAsync($"v1/jobs/{id}");
        Assert.Equal(HttpStatusCode.OK, final.StatusCode);
        using var finalStatus = JsonDocument.Parse(await final.Content.ReadAsStringAsync());
        Assert.Equal("Completed", finalStatus.RootElement.GetProperty("state").GetString());
        Assert.Equal(3, finalStatus.RootElement.GetProperty("shards").GetInt32());
        var report = OutputVerifier.Verify(input, output, Attention.AttentionMask.CausalMask, null);
        Assert.True(report.Passed, report.Failure);

        // The list (from the other silo): newest first, with this job's final status.
        using var other = fixture.Http(silo: 0);
        using var list = JsonDocument.Parse(await other.GetStringAsync("v1/jobs?limit=1000"));
        var listed = list.RootElement.EnumerateArray().Single(j => j.GetProperty("jobId").GetString() == id);
        Assert.Equal("Completed", listed.GetProperty("state").GetString());
        using var badLimit = await other.GetAsync("v1/jobs?limit=0");
        Assert.Equal(HttpStatusCode.BadRequest, badLimit.StatusCode);
        await AssertError(badLimit, "limit", "from 1 to 1000");
    }

    [Theory]
    [InlineData(null, "the cluster requires its token")]
    [InlineData("a-wrong-token-of-the-same-le", "the cluster refused the token")]
    public async Task Request_WithoutTheToken_401AndNothingWritten(string? token, string rule)
    {
        string output = Path.Combine(fixture.Directory, $"api-stranger-{token?.Length}.safetensors");
        using var http = fixture.Http(token: token);

        using var answer = await http.PostAsync("v1/jobs", Json($$"""{"syntheticSeed": 1, "tokens": 64, "outputPath": "{{output}}"}"""));

        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
        await AssertError(answer, "authorization", rule);
        Assert.False(File.Exists(output));
        using var status = await http.GetAsync("v1/jobs/job-any");
        Assert.Equal(HttpStatusCode.Unauthorized, status.StatusCode);
    }

    [Theory]
    [InlineData("{\"tokens\": ", HttpStatusCode.BadRequest, "body", "not a job spec in JSON")]
    [InlineData("[1, 2]", HttpStatusCode.BadRequest, "body", "not a job spec in JSON")]
    [InlineData("{\"syntheticSeed\": 1, \"tokens\": 64, \"heads\": 6, \"kvHeads\": 4, \"outputPath\": \"DIR/api-bad.safetensors\"}", HttpStatusCode.BadRequest, "kvHeads", "must divide")]
    [InlineData("{\"syntheticSeed\": 1, \"tokens\": 64, \"outputPath\": \"/tmp/outside-the-roots.safetensors\"}", HttpStatusCode.BadRequest, "output", "allowed")]
    [InlineData("{\"syntheticSeed\": 1, \"tokens\": 64, \"attention\": \"Linear\", \"scale\": 0.5, \"outputPath\": \"DIR/api-bad.safetensors\"}", HttpStatusCode.BadRequest, "scale", "does not apply to linear attention")]
    [InlineData("{\"syntheticSeed\": 1, \"tokens\": 64, \"shard\": 2, \"outputPath\": \"DIR/api-bad.safetensors\"}", HttpStatusCode.BadRequest, "shard", "a job spec has no field 'shard'")]
    public async Task Submit_BadRequest_4xxNamingTheFieldAndNothingWritten(string body, HttpStatusCode code, string field, string rule)
    {
        using var http = fixture.Http();

        using var answer = await http.PostAsync("v1/jobs", Json(body.Replace("DIR", fixture.Directory, StringComparison.Ordinal)));

        Assert.Equal(code, answer.StatusCode);
        await AssertError(answer, field, rule);
        Assert.False(File.Exists(Path.Combine(fixture.Directory, "api-bad.safetensors")));
        Assert.False(File.Exists("/tmp/outside-the-roots.safetensors"));
    }

    [Fact]
    public async Task Submit_HugeBody_413()
    {
        using var http = fixture.Http();
        string huge = "{\"outputPath\": \"" + new string('x', 200_000) + "\"}";

        using var answer = await http.PostAsync("v1/jobs", Json(huge));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, answer.StatusCode);
        await AssertError(answer, "body", "at most");
    }

    [Fact]
    public async Task Status_UnknownJob_404_AndCancel_StopsARunningJob()
    {
        using var http = fixture.Http();
        using var unknown = await http.GetAsync("v1/jobs/job-that-never-was");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        await AssertError(unknown, "id", "no job 'job-that-never-was'");

        string output = Path.Combine(fixture.Directory, "api-cancelled.safetensors");
        using var submitted = await http.PostAsync("v1/jobs", Json($$"""{"syntheticSeed": 2, "tokens": 65536, "heads": 8, "kvHeads": 2, "headDim": 64, "causal": true, "shards": 2, "outputPath": "{{output}}"}"""));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        string id = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString()!;

        using var cancelled = await http.DeleteAsync($"v1/jobs/{id}");

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal("Cancelled", JsonDocument.Parse(await cancelled.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        Assert.False(File.Exists(output));
    }

    /// <summary>The OpenAPI document names every route and every field of the job spec, as the API reads it.</summary>
    [Fact]
    public async Task OpenApi_DescribesEveryRouteAndEveryJobSpecField()
    {
        using var http = fixture.Http(token: null);

        using var document = JsonDocument.Parse(await http.GetStringAsync("v1/openapi.json"));

        var root = document.RootElement;
        Assert.Equal("3.0.3", root.GetProperty("openapi").GetString());
        var paths = root.GetProperty("paths");
        Assert.True(paths.GetProperty("/v1/jobs").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/jobs").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/jobs/{id}").TryGetProperty("delete", out _));
        Assert.True(paths.TryGetProperty("/v1/jobs/{id}/events", out _));
        var spec = root.GetProperty("components").GetProperty("schemas").GetProperty("JobSpec").GetProperty("properties");
        string[] fields = ["inputPath", "outputPath", "causal", "window", "scale", "shards", "layout", "attention", "featureMap", "decay", "exchange", "syntheticSeed"];
        Assert.All(fields, f => Assert.True(spec.TryGetProperty(f, out _), $"JobSpec schema lacks {f}"));
        Assert.Contains("Zigzag", spec.GetProperty("layout").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("array", spec.GetProperty("decay").GetProperty("type").GetString());
        var schemas = root.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.GetProperty("JobStatus").GetProperty("properties").TryGetProperty("state", out _));
        var shardDetails = schemas.GetProperty("JobStatus").GetProperty("properties").GetProperty("shardDetails");
        Assert.Equal("#/components/schemas/ShardProgress", shardDetails.GetProperty("items").GetProperty("$ref").GetString());
        Assert.True(schemas.GetProperty("ShardProgress").GetProperty("properties").TryGetProperty("waitSeconds", out _));
        Assert.True(paths.GetProperty("/v1/cluster").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/sessions/{id}").TryGetProperty("put", out _));
        Assert.True(paths.GetProperty("/v1/sessions/{id}/attend").TryGetProperty("post", out _));
        Assert.True(schemas.GetProperty("SessionSpec").GetProperty("properties").TryGetProperty("pageTokens", out _));
        Assert.True(schemas.GetProperty("SiloSummary").GetProperty("properties").TryGetProperty("devices", out _));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task AssertError(HttpResponseMessage answer, string field, string rule)
    {
        string body = await answer.Content.ReadAsStringAsync();
        using var error = JsonDocument.Parse(body);
        Assert.True(field == error.RootElement.GetProperty("field").GetString(), body);
        Assert.Contains(rule, error.RootElement.GetProperty("rule").GetString(), StringComparison.Ordinal);
        Assert.StartsWith($"{field}: ", error.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
