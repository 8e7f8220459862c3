using System.Text.Json;
using RingAttention.Tensors;

namespace RingAttention.Cli.Tests;

/// <summary>
/// <c>ringattn session ...</c> as the README runs it, each command its own process on its own embedded cluster: the
/// session lives on storage between them (create in one process, append and attend in later ones). The attend's answer
/// equals the one-shot job of the same queries at the same positions (<c>run --queries --q-offset</c>).
/// </summary>
public sealed class SessionCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-session-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathFor(string name) => Path.Combine(_directory, name);

    private async Task<CliProcess.Result> Ok(params string[] args)
    {
        var result = await CliProcess.RunAsync([.. args, "--session-root", PathFor("sessions")]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result;
    }

    [Fact]
    public async Task CreateAppendAttendStatsListDrop_AsTheReadmeSays()
    {
        string context = PathFor("context.safetensors"), chunk = PathFor("chunk.safetensors"), next = PathFor("next.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", context, "--tokens", "4000", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16")).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", chunk, "--tokens", "100", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16", "--seed", "2")).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", next, "--tokens", "1", "--heads", "8", "--kv-heads", "2", "--head-dim", "64", "--dtype", "bf16", "--seed", "3")).ExitCode);

        var created = await Ok("session", "create", "chat", "--inputs", context, "--causal", "--shards", "4", "--page-tokens", "256");
        Assert.Contains("created session chat: 4000 tokens in 1 segment, 8/2 heads, head dim 64, BF16, causal", created.Output, StringComparison.Ordinal);
        var appended = await Ok("session", "append", "chat", "--inputs", chunk, "--output", PathFor("chunk-o.safetensors"), "--timeline");
        Assert.Contains("4100 tokens in 2 segments", appended.Output, StringComparison.Ordinal);
        Assert.Contains("timeline of the last append", appended.Output, StringComparison.Ordinal);
        foreach (string phase in new[] { "durable copy", "segment flush, manifest", "page fills", "prefill read q", "prefill attend", "attend turn shards=", "prefill convert o", "prefill write", "durable wait", "prefill commit", "shard stats" })
        {
            Assert.Contains(phase, appended.Output, StringComparison.Ordinal);
        }

        Assert.Matches(@"s: durable copy \(segment, manifest\) \d+\.\d{3} s, pages \d+\.\d{3} s", appended.Output);
        Assert.True(File.Exists(PathFor("chunk-o.safetensors")));

        var attend = await Ok("session", "attend", "chat", "--queries", next, "--output", PathFor("next-o.safetensors"), "--timeline");
        Assert.Contains("attended 1 query at positions [4100, 4101)", attend.Output, StringComparison.Ordinal);
        // Where the time went: the session grain's attend, the four shards, the device lane and one turn's phases.
        Assert.Contains("timeline of the last attend", attend.Output, StringComparison.Ordinal);
        foreach (string phase in new[] { "shard attend shard=3", "shard load shard=0", "lane wait", "attend turn shards=", "kernels", "downloads" })
        {
            Assert.Contains(phase, attend.Output, StringComparison.Ordinal);
        }

        // The same attend on one silo: the four shards share its device, wait for each other, take one turn and merge
        // there along the tree (ADR 27: three merges, one download). On the CPU backend a device merge is the host
        // merge itself, so the answer is bit for bit the three-silo one, whichever shards shared a device there.
        var oneSilo = await Ok("session", "attend", "chat", "--queries", next, "--output", PathFor("next-o1.safetensors"), "--timeline", "--silos", "1");
        foreach (string phase in new[] { "group wait", "attend turn shards=4", "merges merges=3" })
        {
            Assert.Contains(phase, oneSilo.Output, StringComparison.Ordinal);
        }

        AssertSame(PathFor("next-o.safetensors"), PathFor("next-o1.safetensors"));

        // The same query as a one-shot job over the concatenated context: the same numbers.
        string whole = PathFor("whole.safetensors");
        Concatenate(whole, context, chunk);
        var job = await CliProcess.RunAsync("run", "--inputs", whole, "--queries", next, "--q-offset", "4100", "--causal", "--shards", "1", "--silos", "1", "--output", PathFor("job-o.safetensors"));
        Assert.True(job.ExitCode == 0, job.ToString());
        AssertClose(PathFor("job-o.safetensors"), PathFor("next-o.safetensors"));

        var stats = await Ok("session", "stats", "chat", "--json");
        using (var document = JsonDocument.Parse(stats.Stdout))
        {
            Assert.Equal(4100, document.RootElement.GetProperty("tokens").GetInt32());
            Assert.Equal(4, document.RootElement.GetProperty("shardStats").GetArrayLength());
        }

        Assert.Contains("chat", (await Ok("session", "list")).Output, StringComparison.Ordinal);
        await Ok("session", "drop", "chat");
        Assert.Contains("no sessions", (await Ok("session", "list")).Output, StringComparison.Ordinal);

        var missing = await CliProcess.RunAsync("session", "attend", "chat", "--queries", next, "--output", PathFor("x.safetensors"), "--session-root", PathFor("sessions"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("there is no session 'chat'", missing.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// <c>session append --repeat N</c> (the chunked-prefill benchmark): the rows go in N times at the next positions,
    /// the medians after the first are printed; a repeat outside 1..1000 is refused naming the flag, with nothing appended.
    /// </summary>
    [Fact]
    public async Task AppendRepeat_AppendsNTimesAndPrintsTheMedians()
    {
        string context = PathFor("ctx.safetensors"), chunk = PathFor("rows.safetensors");
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", context, "--tokens", "500", "--heads", "4", "--kv-heads", "2", "--head-dim", "32", "--dtype", "bf16")).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync("gen", "--output", chunk, "--tokens", "30", "--heads", "4", "--kv-heads", "2", "--head-dim", "32", "--dtype", "bf16", "--seed", "5")).ExitCode);
        await Ok("session", "create", "bench", "--inputs", context, "--causal", "--shards", "2");

        var bad = await CliProcess.RunAsync("session", "append", "bench", "--inputs", chunk, "--repeat", "0", "--session-root", PathFor("sessions"));
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--repeat must be between 1 and 1000 but is 0", bad.Output, StringComparison.Ordinal);

        var appended = await Ok("session", "append", "bench", "--inputs", chunk, "--output", PathFor("rows-o.safetensors"), "--repeat", "3");
        Assert.Contains("590 tokens in 4 segments", appended.Output, StringComparison.Ordinal);
        var medians = System.Text.RegularExpressions.Regex.Match(appended.Output,
            @"first append \d+\.\d ms; median of the next 2: \d+\.\d ms \(durable copy \d+\.\d ms, pages \d+\.\d ms, prefill attend (\d+\.\d) ms, the rest -?\d+\.\d ms\)");
        Assert.True(medians.Success, appended.Output);
        // The rows had q: the prefill's attends took time of their own, reported apart from writing its output.
        Assert.True(double.Parse(medians.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, appended.Output);
        using var output = SafetensorsFile.Open(PathFor("rows-o.safetensors"));
        Assert.Equal([30L, 4, 32], output.GetTensor("o").Shape);
    }

    private static void Concatenate(string path, params string[] parts)
    {
        var tensors = new List<(string, ElementType, long[], ReadOnlyMemory<byte>)>();
        foreach (string name in new[] { "q", "k", "v" })
        {
            var bytes = new List<byte>();
            long rows = 0;
            long[] shape = [];
            ElementType type = default;
            foreach (string part in parts)
            {
                using var file = SafetensorsFile.Open(part);
                var info = file.GetTensor(name);
                byte[] data = new byte[info.ByteLength];
                file.ReadRows(name, 0, (int)info.Shape[0], data);
                bytes.AddRange(data);
                rows += info.Shape[0];
                shape = info.Shape;
                type = info.Type;
            }

            tensors.Add((name, type, [rows, shape[1], shape[2]], bytes.ToArray()));
        }

        SafetensorsFile.Write(path, tensors);
    }

    private static void AssertSame(string expectedPath, string actualPath)
    {
        using var expected = SafetensorsFile.Open(expectedPath);
        using var actual = SafetensorsFile.Open(actualPath);
        foreach (string name in new[] { "o", "lse" })
        {
            var info = expected.GetTensor(name);
            byte[] a = new byte[info.ByteLength], b = new byte[actual.GetTensor(name).ByteLength];
            expected.ReadElements(name, 0, a);
            actual.ReadElements(name, 0, b);
            Assert.Equal(a, b);
        }
    }

    private static void AssertClose(string expectedPath, string actualPath)
    {
        using var expected = SafetensorsFile.Open(expectedPath);
        using var actual = SafetensorsFile.Open(actualPath);
        foreach (string name in new[] { "o", "lse" })
        {
            var info = expected.GetTensor(name);
            Assert.Equal(info.Shape, actual.GetTensor(name).Shape);
            byte[] a = new byte[info.ByteLength], b = new byte[info.ByteLength];
            expected.ReadElements(name, 0, a);
            actual.ReadElements(name, 0, b);
            for (long i = 0; i < info.ElementCount; i++)
            {
                double x = ElementConvert.Read(a, info.Type, i), y = ElementConvert.Read(b, info.Type, i);
                Assert.True(Math.Abs(x - y) <= 1e-2 * Math.Max(1, Math.Abs(x)), $"{name}[{i}]: job {x}, session {y}");
            }
        }
    }
}
