using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Sessions over HTTP (issue 17) against real silos: create with a prefill output, append with one, attend, list,
/// stats, drop; an attend answers exactly what the SDK's attend answers for the same queries; refusals are 4xx with
/// the field. (The numbers themselves are checked against float64 by <see cref="SessionTests"/>.)
/// </summary>
public sealed class SessionApiTests(ApiClusterFixture fixture) : IClassFixture<ApiClusterFixture>
{
    [Fact]
    public async Task Session_CreateAppendAttendDrop_OverHttp()
    {
        string context = TestInputs.Write(Path.Combine(fixture.Directory, "sapi-context.safetensors"), 300, 4, 2, 32, ElementType.BF16, seed: 21);
        string more = TestInputs.Write(Path.Combine(fixture.Directory, "sapi-more.safetensors"), 100, 4, 2, 32, ElementType.BF16, seed: 22);
        string prefill = Path.Combine(fixture.Directory, "sapi-prefill-o.safetensors"), appended = Path.Combine(fixture.Directory, "sapi-append-o.safetensors");
        string id = "sapi-" + Guid.NewGuid().ToString("N")[..8];
        using var http = fixture.Http(silo: 1);

        using var created = await http.PutAsync($"v1/sessions/{id}", Json($$"""{"inputPath": "{{context}}", "outputPath": "{{prefill}}", "causal": true, "shards": 2, "pageTokens": 64}"""));
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        Assert.Equal(300, (int)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["tokens"]!);
        Assert.True(File.Exists(prefill));

        using var append = await http.PostAsync($"v1/sessions/{id}/append", Json($$"""{"inputPath": "{{more}}", "outputPath": "{{appended}}"}"""));
        Assert.True(append.StatusCode == HttpStatusCode.OK, await append.Content.ReadAsStringAsync());
        Assert.Equal(400, (int)JsonNode.Parse(await append.Content.ReadAsStringAsync())!["tokens"]!);
        Assert.True(File.Exists(appended));

        // Three query rows after the context: the same answer as the SDK's attend, to the bit.
        var rng = new Random(5);
        float[] q = [.. Enumerable.Range(0, 3 * 4 * 32).Select(_ => (float)((rng.NextDouble() * 2) - 1))];
        byte[] bytes = new byte[q.Length * 4];
        Buffer.BlockCopy(q, 0, bytes, 0, bytes.Length);
        using var attend = await http.PostAsync($"v1/sessions/{id}/attend", Json($$"""{"dtype": "f32", "rows": 3, "data": "{{Convert.ToBase64String(bytes)}}"}"""));
        string body = await attend.Content.ReadAsStringAsync();
        Assert.True(attend.StatusCode == HttpStatusCode.OK, body);
        var answer = JsonNode.Parse(body)!;
        var sdk = await fixture.Cluster.Client.GetSession(id).AttendAsync(ElementType.F32, 3, bytes);
        Assert.Equal(400, (int)answer["firstPosition"]!);
        Assert.Equal(sdk.Output, answer["output"]!.AsArray().Select(x => (float)x!).ToArray());
        Assert.Equal(sdk.Lse, answer["lse"]!.AsArray().Select(x => (float)x!).ToArray());
        Assert.All(sdk.Output, x => Assert.True(float.IsFinite(x)));

        var listed = JsonNode.Parse(await http.GetStringAsync("v1/sessions"))!.AsArray().Select(x => (string)x!).ToList();
        Assert.Contains(id, listed);
        var stats = JsonNode.Parse(await http.GetStringAsync($"v1/sessions/{id}"))!;
        Assert.Equal(2, stats["shardStats"]!.AsArray().Count);

        using var dropped = await http.DeleteAsync($"v1/sessions/{id}");
        Assert.Equal(HttpStatusCode.OK, dropped.StatusCode);
        using var gone = await http.GetAsync($"v1/sessions/{id}");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task Session_BadRequests_AnsweredWithTheField_NothingCreated()
    {
        using var http = fixture.Http();
        string outside = Path.Combine(Path.GetTempPath(), "not-an-allowed-root", "kv.safetensors");
        string id = "sapi-bad-" + Guid.NewGuid().ToString("N")[..8];

        using var outsideRoots = await http.PutAsync($"v1/sessions/{id}", Json($$"""{"inputPath": "{{outside}}", "shards": 1}"""));
        using var typo = await http.PutAsync($"v1/sessions/{id}", Json("""{"inputPth": "x", "shards": 1}"""));
        using var unknown = await http.GetAsync($"v1/sessions/{id}");
        using var badType = await http.PostAsync($"v1/sessions/{id}/attend", Json("""{"dtype": "int8", "rows": 1, "data": ""}"""));
        using var anonymous = await fixture.Http(token: null).GetAsync("v1/sessions");

        Assert.Equal(HttpStatusCode.BadRequest, outsideRoots.StatusCode);
        Assert.Equal("inputs", (string?)JsonNode.Parse(await outsideRoots.Content.ReadAsStringAsync())!["field"]);
        Assert.Equal(HttpStatusCode.BadRequest, typo.StatusCode);
        Assert.Equal("inputPth", (string?)JsonNode.Parse(await typo.Content.ReadAsStringAsync())!["field"]);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badType.StatusCode);
        Assert.Equal("dType", (string?)JsonNode.Parse(await badType.Content.ReadAsStringAsync())!["field"]);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.DoesNotContain(id, JsonNode.Parse(await fixture.Http().GetStringAsync("v1/sessions"))!.AsArray().Select(x => (string)x!));
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");
}
