using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// A real headless Chromium (Debian's <c>chromium-headless-shell</c>, or <c>$RINGATTN_CHROMIUM</c>) driven over the
/// DevTools protocol: navigate, evaluate JavaScript in the page, take a screenshot. One page, one WebSocket; commands
/// are sent one at a time and events in between are skipped.
/// </summary>
public sealed class HeadlessBrowser : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private int _nextId;

    private HeadlessBrowser(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>The browser binary: the environment's choice, else the Debian packages' names; null when none is installed.</summary>
    public static string? Binary =>
        new[] { Environment.GetEnvironmentVariable("RINGATTN_CHROMIUM"), "/usr/bin/chromium-headless-shell", "/usr/bin/chromium" }
            .FirstOrDefault(path => !string.IsNullOrEmpty(path) && File.Exists(path));

    public static async Task<HeadlessBrowser> StartAsync(int width = 1280, int height = 800)
    {
        string binary = Binary ?? throw new InvalidOperationException(
            "no Chromium: install the Debian package chromium-headless-shell (.ci/run does) or set RINGATTN_CHROMIUM");
        string profile = Directory.CreateTempSubdirectory("ringattn-chromium-").FullName;
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        // --no-sandbox: CI runs as root, where Chromium refuses its sandbox.
        foreach (string arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-port=0",
                     $"--user-data-dir={profile}", $"--window-size={width},{height}", "about:blank" })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
        var browser = new HeadlessBrowser(process, profile);
        try
        {
            _ = process.StandardOutput.ReadToEndAsync();
            int port = await DevToolsPortAsync(process, profile);
            using var http = new HttpClient();
            var targets = JsonNode.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"))!.AsArray();
            string page = targets.First(t => (string?)t!["type"] == "page")!["webSocketDebuggerUrl"]!.GetValue<string>();
            await browser._socket.ConnectAsync(new Uri(page), CancellationToken.None);
            await browser.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject { ["width"] = width, ["height"] = height, ["deviceScaleFactor"] = 1, ["mobile"] = false });
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    /// <summary>Chromium writes the port it chose into the profile's DevToolsActivePort file.</summary>
    private static async Task<int> DevToolsPortAsync(Process process, string profile)
    {
        string file = Path.Combine(profile, "DevToolsActivePort");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Chromium exited ({process.ExitCode}): {await process.StandardError.ReadToEndAsync()}");
            }

            if (File.Exists(file) && File.ReadAllLines(file) is [var port, ..] && int.TryParse(port, out int value))
            {
                return value;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("Chromium did not open its DevTools port in 30 s");
    }

    /// <summary>Loads <paramref name="url"/> and waits until the document has loaded.</summary>
    public async Task NavigateAsync(Uri url)
    {
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });
        await WaitForAsync("document.readyState === 'complete'", TimeSpan.FromSeconds(30));
    }

    /// <summary>The value of a JavaScript expression in the page (JSON-serialisable values only).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var reply = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (reply["exceptionDetails"] is { } error)
        {
            throw new InvalidOperationException($"the page threw evaluating `{expression}`: {error.ToJsonString()}");
        }

        return reply["result"]?["value"]?.DeepClone();
    }

    /// <summary>Polls a boolean expression until it is true.</summary>
    public async Task WaitForAsync(string condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while ((await EvaluateAsync(condition))?.GetValue<bool>() != true)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the page never satisfied `{condition}` in {timeout.TotalSeconds:0} s");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>A PNG of the viewport.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var reply = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(reply["data"]!.GetValue<string>());
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject parameters)
    {
        int id = ++_nextId;
        var command = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(command.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var message = JsonNode.Parse(await ReceiveAsync(timeout.Token))!;
            if ((int?)message["id"] != id)
            {
                continue;
            }

            if (message["error"] is { } error)
            {
                throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}");
            }

            return message["result"]!;
        }
    }

    private async Task<string> ReceiveAsync(CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var part = await _socket.ReceiveAsync(buffer, ct);
            if (part.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("Chromium closed the DevTools connection");
            }

            message.Write(buffer, 0, part.Count);
            if (part.EndOfMessage)
            {
                return Encoding.UTF8.GetString(message.ToArray());
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        try
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
            // A child still held a file; the temp folder is cleaned by the OS.
        }
    }
}
