using System.Net;
using System.Text;
using System.Text.Json;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// The jobs page (issue 17) in a real browser: headless Chromium opens a silo's <c>/</c> on a 2-silo cluster with a
/// token, is asked for the token, then shows a job submitted over the API appear, progress shard by shard and complete,
/// and the silos with their devices and memory. The screenshot taken mid-run is the README's (RINGATTN_SCREENSHOT=path
/// writes it there).
/// </summary>
public sealed class JobsPageTests(ApiClusterFixture fixture) : IClassFixture<ApiClusterFixture>
{
    [Fact]
    public async Task Page_ShowsASubmittedJobProgressAndComplete()
    {
        string input = TestInputs.Write(Path.Combine(fixture.Directory, "page-qkv.safetensors"), 32000, 4, 2, 64, ElementType.BF16, seed: 11);
        string output = Path.Combine(fixture.Directory, "page-o.safetensors");
        await using var browser = await HeadlessBrowser.StartAsync();
        await browser.NavigateAsync(fixture.Cluster.HttpEndpoints[0]);

        // The cluster has a token: the page's first call is refused and it asks for it.
        await browser.WaitForAsync("!document.getElementById('token-form').hidden", TimeSpan.FromSeconds(20));
        await browser.EvaluateAsync($"document.getElementById('token').value = '{ApiClusterFixture.Token}'; document.getElementById('token-form').requestSubmit(); true");
        await browser.WaitForAsync("document.querySelectorAll('#silos tbody tr').length === 2", TimeSpan.FromSeconds(20));

        using var http = fixture.Http(silo: 1);
        using var submitted = await http.PostAsync("v1/jobs", new StringContent(
            $$"""{"inputPath": "{{input}}", "outputPath": "{{output}}", "causal": true, "shards": 4}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);
        string id = JsonDocument.Parse(await submitted.Content.ReadAsStringAsync()).RootElement.GetProperty("jobId").GetString()!;

        // What the page shows for the job, every 100 ms, until it says Completed.
        string row = $"document.querySelector('tr[data-job=\"{id}\"]')";
        var seen = new List<(string State, int Done, int Total, int Shards)>();
        byte[]? screenshot = null;
        bool late = false;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (seen.Count == 0 || seen[^1].State != "Completed")
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"the page never showed job {id} completed; it showed {string.Join(", ", seen.TakeLast(5))}");
            var shown = await browser.EvaluateAsync(
                $"(() => {{ const r = {row}; return r ? [r.dataset.state, r.dataset.steps, r.nextElementSibling ? r.nextElementSibling.querySelectorAll('[data-shard]').length : 0] : null; }})()");
            if (shown is not null)
            {
                string[] steps = shown[1]!.GetValue<string>().Split('/');
                var now = (shown[0]!.GetValue<string>(), int.Parse(steps[0]), int.Parse(steps[1]), shown[2]!.GetValue<int>());
                if (seen.Count == 0 || seen[^1] != now)
                {
                    seen.Add(now);
                }

                // Mid-run: the first intermediate view, replaced by one from the second half when the page shows one.
                if (now.Item1 == "Running" && now.Item2 > 0 && now.Item2 < now.Item3 && (screenshot is null || (!late && 2 * now.Item2 >= now.Item3)))
                {
                    late = 2 * now.Item2 >= now.Item3;
                    screenshot = await browser.ScreenshotAsync();
                }
            }

            await Task.Delay(100);
        }

        // It appeared before it finished, moved through intermediate ring steps, and ended with every step and shard.
        Assert.Contains(seen, s => s.State is "Running" or "Queued");
        Assert.Contains(seen, s => s.State == "Running" && s.Done > 0 && s.Done < s.Total);
        Assert.Equal((16, 16, 4), (seen[^1].Done, seen[^1].Total, seen[^1].Shards));
        Assert.True(File.Exists(output));

        // The silo table: both silos, each with its device and memory.
        var silos = await browser.EvaluateAsync("[...document.querySelectorAll('#silos tbody tr')].map(r => r.innerText)");
        Assert.Equal(2, silos!.AsArray().Count);
        Assert.All(silos.AsArray(), s => Assert.Contains("cpu", s!.GetValue<string>(), StringComparison.Ordinal));
        Assert.All(silos.AsArray(), s => Assert.Contains("MiB", s!.GetValue<string>(), StringComparison.Ordinal));

        Assert.NotNull(screenshot);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, screenshot![..4]);
        File.WriteAllBytes(Path.Combine(AppContext.BaseDirectory, "jobs-page.png"), screenshot);
        if (Environment.GetEnvironmentVariable("RINGATTN_SCREENSHOT") is { Length: > 0 } path)
        {
            File.WriteAllBytes(path, screenshot);
        }
    }

    [Fact]
    public async Task Page_IsServedWithoutTheToken_AndItsDataIsNot()
    {
        using var anonymous = fixture.Http(silo: 0, token: null);

        using var page = await anonymous.GetAsync("/");
        using var cluster = await anonymous.GetAsync("v1/cluster");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Contains("/jobs.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, cluster.StatusCode);
    }
}
