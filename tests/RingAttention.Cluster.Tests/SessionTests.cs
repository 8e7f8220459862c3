using RingAttention.Attention;
using RingAttention.Client;
using RingAttention.Client.Verification;
using RingAttention.Contracts.Sessions;
using RingAttention.Silo;
using RingAttention.Tensors;

namespace RingAttention.Cluster.Tests;

/// <summary>
/// Sessions (issue 15) on real silos: K/V of a context created from one file and grown by appends, kept in pages on
/// the shards' devices, attended by distributed partials merged in a tree; checked against float64 attention over the
/// concatenation at the same positions. Each test starts its own cluster on a fresh session root (a lost silo and a
/// tiny page pool must not leak into other tests).
/// </summary>
public sealed class SessionTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "ringattn-sessions-" + Guid.NewGuid().ToString("N")[..8]);

    public SessionTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathFor(string name) => Path.Combine(_directory, name);

    private string Root => PathFor("sessions");

    private Task<EmbeddedCluster> StartAsync(int silos = 3, long poolBytes = 0, string device = "cpu", int flatMostRows = 64) => EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
    {
        Silos = silos,
        Device = device,
        AllowedRoots = [_directory],
        Configure = o =>
        {
            o.SessionRoot = Root;
            o.SessionMemoryBytes = poolBytes;
            o.SessionFlatMostRows = flatMostRows;
        },
    });

    /// <summary>The context split into a create file and append files of the given sizes (k and v; q too when asked).</summary>
    private List<string> Split(string whole, int[] sizes, bool withQueries)
    {
        using var file = SafetensorsFile.Open(whole);
        var files = new List<string>();
        int first = 0;
        foreach (int size in sizes)
        {
            string path = PathFor($"part-{files.Count}-{Path.GetFileNameWithoutExtension(whole)}.safetensors");
            var tensors = new List<(string, ElementType, long[], ReadOnlyMemory<byte>)>();
            foreach (string name in withQueries ? new[] { "q", "k", "v" } : ["k", "v"])
            {
                var info = file.GetTensor(name);
                byte[] rows = new byte[size * info.RowBytes];
                file.ReadRows(name, first, size, rows);
                tensors.Add((name, info.Type, [size, info.Shape[1], info.Shape[2]], rows));
            }

            SafetensorsFile.Write(path, tensors);
            files.Add(path);
            first += size;
        }

        return files;
    }

    private static async Task<RingSession> BuildAsync(EmbeddedCluster cluster, string id, IReadOnlyList<string> parts, SessionSpec spec)
    {
        var (session, created) = await cluster.Client.CreateSessionAsync(id, spec with { InputPath = parts[0] });
        Assert.Null(created.Error);
        foreach (string part in parts.Skip(1))
        {
            await session.AppendAsync(new SessionRows { InputPath = part });
        }

        return session;
    }

    /// <summary>q rows [first, first + n) of the whole file, as bytes.</summary>
    private static byte[] Queries(string whole, int first, int n)
    {
        using var file = SafetensorsFile.Open(whole);
        var info = file.GetTensor("q");
        byte[] rows = new byte[n * info.RowBytes];
        file.ReadRows("q", first, n, rows);
        return rows;
    }

    /// <summary>Every row and head of an answer against float64 attention of the same q over the whole file's first <paramref name="tokens"/> k, v rows.</summary>
    internal static void AssertMatchesFloat64(string whole, int tokens, SessionAnswer answer, byte[] queries, AttentionMask mask, ElementType type)
    {
        using var file = SafetensorsFile.Open(whole);
        var k = file.GetTensor("k");
        int kvHeads = (int)k.Shape[1], headDim = (int)k.Shape[2];
        byte[] keys = new byte[tokens * k.RowBytes], values = new byte[tokens * k.RowBytes];
        file.ReadRows("k", 0, tokens, keys);
        file.ReadRows("v", 0, tokens, values);
        var spec = new AttentionSpec(tokens, answer.Heads, kvHeads, headDim, type, mask);
        double magnitude = Enumerable.Range(0, tokens * kvHeads * headDim).Max(i => Math.Abs(ElementConvert.Read(values, type, i)));
        var expected = new double[headDim];
        for (int r = 0; r < answer.Rows; r++)
        {
            for (int h = 0; h < answer.Heads; h++)
            {
                double lse = ReferenceAttention.ComputeRow(spec, queries, [new TokenSpan(answer.FirstPosition, answer.Rows)], r, h,
                    keys, values, [new TokenSpan(0, tokens)], expected);
                var actual = answer.Output.AsSpan(((r * answer.Heads) + h) * headDim, headDim);
                var comparison = ReferenceAttention.CompareRow(actual, answer.Lse[(h * answer.Rows) + r], expected, lse,
                    ReferenceAttention.Tolerance.For(type), magnitude);
                Assert.True(comparison.Passed, $"row {r} (position {answer.FirstPosition + r}) head {h}: {comparison.Failure}");
            }
        }
    }

    [Theory]
    [InlineData(ElementType.BF16, 4, 2, true, null, 4, 16)]
    [InlineData(ElementType.F32, 4, 1, false, null, 3, 64)]
    [InlineData(ElementType.F16, 6, 2, true, 100, 5, 32)]
    [InlineData(ElementType.BF16, 8, 8, false, 50, 2, 256)]
    public async Task CreateFiveAppendsAttend_EqualsFloat64OverTheConcatenation(
        ElementType type, int heads, int kvHeads, bool causal, int? window, int shards, int pageTokens)
    {
        int[] sizes = [301, 1, 77, 256, 3, 100];
        int tokens = sizes.Sum();
        string whole = TestInputs.Write(PathFor($"whole-{type}-{heads}-{kvHeads}.safetensors"), tokens + 20, heads, kvHeads, 32, type, seed: tokens + heads);
        var parts = Split(whole, sizes, withQueries: false);
        await using var cluster = await StartAsync();
        var session = await BuildAsync(cluster, "ctx", parts,
            new SessionSpec { Heads = heads, Shards = shards, Causal = causal, Window = window, PageTokens = pageTokens });
        var stats = await session.StatsAsync();
        Assert.Equal(tokens, stats.Tokens);
        Assert.Equal(sizes.Length, stats.Segments);
        // Balanced: shard token counts differ by at most one; pages hold exactly the rows, no more pages than needed.
        Assert.True(stats.ShardStats.Max(s => s.Tokens) - stats.ShardStats.Min(s => s.Tokens) <= 1, string.Join(",", stats.ShardStats.Select(s => s.Tokens)));
        Assert.Equal(tokens, stats.ShardStats.Sum(s => s.Tokens));
        Assert.All(stats.ShardStats, s => Assert.True(s.Pages <= ((s.Tokens + pageTokens - 1) / pageTokens) + sizes.Length));
        Assert.Equal(2L * tokens * kvHeads * 32 * type.Size(), stats.UsedBytes);
        Assert.True(stats.AllocatedBytes >= stats.UsedBytes);

        // Decode-like (n = 1 at the next position), a few rows, and rows at explicit positions inside the context.
        foreach (var (n, offset) in new (int, int?)[] { (1, null), (7, null), (20, 400), (1, 0) })
        {
            int first = offset ?? tokens;
            byte[] q = Queries(whole, Math.Min(first, tokens), n);
            var answer = await session.AttendAsync(type, n, q, offset);
            Assert.Equal(first, answer.FirstPosition);
            Assert.Equal((int)Math.Ceiling(Math.Log2(shards)), answer.MergeRounds);
            AssertMatchesFloat64(whole, tokens, answer, q, new AttentionMask(causal, window), type);
        }
    }

    [Fact]
    public async Task Attend_AfterAShardSiloIsLost_ReloadsFromSegmentsBitwiseEqual()
    {
        int[] sizes = [200, 50, 1, 120, 7, 33];
        string whole = TestInputs.Write(PathFor("lost.safetensors"), sizes.Sum() + 4, 4, 2, 32, ElementType.BF16, seed: 11);
        var parts = Split(whole, sizes, withQueries: false);
        await using var cluster = await StartAsync(silos: 3);
        var session = await BuildAsync(cluster, "lost", parts.Take(3).ToList(), new SessionSpec { Heads = 4, Shards = 6, Causal = true, PageTokens = 16 });
        var before = await session.StatsAsync();
        string lost = $":{cluster.Hosts[2].SiloPort}@";
        Assert.Contains(before.ShardStats, s => s.Silo.Contains(lost, StringComparison.Ordinal));

        // The silo of some shards goes between appends: their pages are gone with it.
        await cluster.StopSiloAsync(2);
        foreach (string part in parts.Skip(3))
        {
            await session.AppendAsync(new SessionRows { InputPath = part });
        }

        byte[] q = Queries(whole, sizes.Sum(), 3);
        var afterLoss = await session.AttendAsync(ElementType.BF16, 3, q);
        var stats = await session.StatsAsync();
        Assert.DoesNotContain(stats.ShardStats, s => s.Silo.Contains(lost, StringComparison.Ordinal));

        // The fault-free run: the same session built on a fresh cluster.
        await using var fresh = await StartAsync(silos: 3);
        var clean = await BuildAsync(fresh, "clean", parts, new SessionSpec { Heads = 4, Shards = 6, Causal = true, PageTokens = 16 });
        var faultFree = await clean.AttendAsync(ElementType.BF16, 3, q);
        Assert.Equal(faultFree.Output, afterLoss.Output);
        Assert.Equal(faultFree.Lse, afterLoss.Lse);
        AssertMatchesFloat64(whole, sizes.Sum(), afterLoss, q, AttentionMask.CausalMask, ElementType.BF16);
    }

    /// <summary>
    /// A decode step asks every shard at once and merges here along the tree (ADR 31); the same attend sent down the tree
    /// answers the same bits: on three silos (a merge per node on the host) and on one (the device merges nodes
    /// 1-4 into their parents along the tree, and the answers say so).
    /// </summary>
    [Fact]
    public async Task Attend_EveryNodeAskedAtOnce_BitwiseTheTreesAnswer()
    {
        int[] sizes = [150, 61];
        string whole = TestInputs.Write(PathFor("flat.safetensors"), 220, 4, 2, 32, ElementType.BF16, seed: 17);
        var parts = Split(whole, sizes, withQueries: false);
        byte[] q = Queries(whole, 211, 5);
        var answers = new List<(string How, SessionAnswer Answer)>();
        foreach (var (silos, flat) in new[] { (3, 64), (3, 0), (1, 64), (1, 0) })
        {
            await using var cluster = await StartAsync(silos: silos, flatMostRows: flat);
            var session = answers.Count == 0
                ? await BuildAsync(cluster, "flat", parts, new SessionSpec { Heads = 4, Shards = 5, Causal = true, PageTokens = 16 })
                : cluster.Client.GetSession("flat");
            var answer = await session.AttendAsync(ElementType.BF16, 5, q, offset: 211);
            Assert.Null(answer.Error);
            Assert.Equal(3, answer.MergeRounds);
            answers.Add(($"{silos} silos, {(flat > 0 ? "every node at once" : "down the tree")}", answer));
        }

        AssertMatchesFloat64(whole, 211, answers[0].Answer, q, AttentionMask.CausalMask, ElementType.BF16);
        foreach (var (how, answer) in answers.Skip(1))
        {
            Assert.True(answers[0].Answer.Output.SequenceEqual(answer.Output) && answers[0].Answer.Lse.SequenceEqual(answer.Lse), how);
        }
    }

    [Fact]
    public async Task Session_OutlivesItsCluster_ReloadedFromStorage()
    {
        int[] sizes = [90, 10];
        string whole = TestInputs.Write(PathFor("outlive.safetensors"), 105, 2, 1, 32, ElementType.F32, seed: 3);
        var parts = Split(whole, sizes, withQueries: false);
        byte[] q = Queries(whole, 100, 2);
        SessionAnswer first;
        await using (var cluster = await StartAsync(silos: 2))
        {
            var session = await BuildAsync(cluster, "outlive", parts, new SessionSpec { Heads = 2, Shards = 3 });
            first = await session.AttendAsync(ElementType.F32, 2, q);
        }

        await using var again = await StartAsync(silos: 1);
        Assert.Equal(["outlive"], await again.Client.ListSessionsAsync());
        var reloaded = await again.Client.GetSession("outlive").AttendAsync(ElementType.F32, 2, q);
        Assert.Equal(first.Output, reloaded.Output);
        Assert.Equal(first.Lse, reloaded.Lse);
    }

    [Fact]
    public async Task Append_WhoseDurableStepFails_UndoneWhole_SessionAsBefore()
    {
        string whole = TestInputs.Write(PathFor("flush.safetensors"), 300, 2, 1, 32, ElementType.F32, seed: 6);
        var parts = Split(whole, [200, 100], withQueries: false);
        await using var cluster = await StartAsync(silos: 1);
        var (session, _) = await cluster.Client.CreateSessionAsync("flush", new SessionSpec { InputPath = parts[0], Heads = 2, Shards = 2, PageTokens = 16 });
        byte[] q = Queries(whole, 200, 1);
        var before = await session.AttendAsync(ElementType.F32, 1, q);

        // A directory where the manifest's temp file goes: saving the grown manifest fails, as a failing disk would,
        // after the segment was written and while the shards filled their pages from it (ADR 28).
        string blocker = Path.Combine(Root, "flush", "session.json.tmp");
        Directory.CreateDirectory(blocker);
        await Assert.ThrowsAnyAsync<Exception>(() => session.AppendAsync(new SessionRows { InputPath = parts[1] }));
        var stats = await session.StatsAsync();
        Assert.Equal(200, stats.Tokens);
        Assert.Equal(1, stats.Segments);
        Assert.Equal(200, stats.ShardStats.Sum(s => s.Tokens));
        Assert.Single(Directory.GetFiles(Path.Combine(Root, "flush"), "segment-*"));
        Assert.Equal(before.Output, (await session.AttendAsync(ElementType.F32, 1, q)).Output);

        // The disk mended, the same append goes through.
        Directory.Delete(blocker);
        var appended = await session.AppendAsync(new SessionRows { InputPath = parts[1] });
        Assert.Equal(300, appended.Tokens);
        Assert.Equal(2, appended.Segments);
    }

    [Fact]
    public async Task Append_BeyondThePagePool_RefusedWithTheNumbers_SessionUnchanged()
    {
        // kv 2 x 32 f32: 512 bytes a token (K and V); pages of 16 tokens are 8 KiB; a pool of 64 KiB holds 8 pages.
        string whole = TestInputs.Write(PathFor("pool.safetensors"), 1000, 2, 2, 32, ElementType.F32, seed: 9);
        var parts = Split(whole, [100, 800], withQueries: false);
        await using var cluster = await StartAsync(silos: 1, poolBytes: 64 << 10);
        var (session, created) = await cluster.Client.CreateSessionAsync("pool", new SessionSpec { InputPath = parts[0], Heads = 2, Shards = 1, PageTokens = 16 });
        Assert.Equal(7, created.ShardStats.Single().Pages);
        byte[] q = Queries(whole, 100, 1);
        var before = await session.AttendAsync(ElementType.F32, 1, q);

        var refusal = await Assert.ThrowsAsync<SpecValidationException>(() => session.AppendAsync(new SessionRows { InputPath = parts[1] }));
        Assert.Equal("pages", refusal.Field);
        Assert.Contains("800 more rows need 50 pages of 16 tokens", refusal.Reason, StringComparison.Ordinal);
        Assert.Contains("SessionMemoryBytes", refusal.Reason, StringComparison.Ordinal);

        var stats = await session.StatsAsync();
        Assert.Equal(100, stats.Tokens);
        Assert.Equal(1, stats.Segments);
        Assert.Single(Directory.GetFiles(Path.Combine(Root, "pool"), "segment-*"));
        var after = await session.AttendAsync(ElementType.F32, 1, q);
        Assert.Equal(before.Output, after.Output);

        // Dropping gives the pages back: a new session can take the whole pool.
        await session.DropAsync();
        Assert.False(Directory.Exists(Path.Combine(Root, "pool")));
        Assert.Empty(await cluster.Client.ListSessionsAsync());
        var (_, next) = await cluster.Client.CreateSessionAsync("next", new SessionSpec { InputPath = parts[0], Heads = 2, Shards = 1, PageTokens = 16 });
        Assert.Equal(64 << 10, next.ShardStats.Single().PoolBytes);
        Assert.Equal((64 << 10) - (7 * 8192), next.ShardStats.Single().PoolFreeBytes);

        // A create the pool cannot hold is undone whole: its directory gone (after its segment's flush), the pool's pages back.
        var tooBig = await Assert.ThrowsAsync<SpecValidationException>(() =>
            cluster.Client.CreateSessionAsync("big", new SessionSpec { InputPath = parts[1], Heads = 2, Shards = 1, PageTokens = 16 }));
        Assert.Equal("pages", tooBig.Field);
        Assert.False(Directory.Exists(Path.Combine(Root, "big")));
        Assert.Equal(["next"], await cluster.Client.ListSessionsAsync());
        Assert.Equal((64 << 10) - (7 * 8192), (await cluster.Client.GetSession("next").StatsAsync()).ShardStats.Single().PoolFreeBytes);
    }

    [Fact]
    public async Task TwoSessionsOverThePool_IdleOneEvictedThenReloaded_SameAnswers()
    {
        // kv 2 x 32 f32, pages of 16 tokens: 8 KiB a page; a 64 KiB pool holds 8 pages, one session of 100 tokens needs 7.
        string whole = TestInputs.Write(PathFor("evict.safetensors"), 101, 2, 2, 32, ElementType.F32, seed: 8);
        string kv = Split(whole, [100], withQueries: false)[0];
        byte[] q = Queries(whole, 100, 1);
        await using var cluster = await StartAsync(silos: 1, poolBytes: 64 << 10);
        var (first, _) = await cluster.Client.CreateSessionAsync("first", new SessionSpec { InputPath = kv, Heads = 2, PageTokens = 16 });
        var before = await first.AttendAsync(ElementType.F32, 1, q);
        var (second, created) = await cluster.Client.CreateSessionAsync("second", new SessionSpec { InputPath = kv, Heads = 2, PageTokens = 16 });
        Assert.Equal(7, created.ShardStats.Single().Pages);

        // The first session's pages went to the second; its next attend takes them back (evicting the second) and reloads.
        var after = await first.AttendAsync(ElementType.F32, 1, q);
        Assert.Equal(before.Output, after.Output);
        Assert.Equal(before.Lse, after.Lse);
        Assert.Equal(1, (await first.StatsAsync()).ShardStats.Single().Evictions);
        Assert.Equal(1, (await second.StatsAsync()).ShardStats.Single().Evictions);
    }

    /// <summary>The append's 1100 rows are prefilled in three pieces (512, 512, 76: SessionGrain.PieceRows), each
    /// written while the next attends; every row checked.</summary>
    [Fact]
    public async Task PrefillWithQueries_WritesOutputsThatMatchFloat64()
    {
        int[] sizes = [150, 1100];
        string whole = TestInputs.Write(PathFor("prefill.safetensors"), sizes.Sum(), 4, 1, 32, ElementType.BF16, seed: 21);
        var parts = Split(whole, sizes, withQueries: true);
        await using var cluster = await StartAsync();
        string created = PathFor("prefill-o0.safetensors"), appended = PathFor("prefill-o1.safetensors");
        var (session, status) = await cluster.Client.CreateSessionAsync("prefill",
            new SessionSpec { InputPath = parts[0], OutputPath = created, Shards = 3, Causal = true, PageTokens = 32 });
        Assert.Equal(created, status.Output);
        Assert.Equal(4, status.Heads);
        await session.AppendAsync(new SessionRows { InputPath = parts[1], OutputPath = appended });

        // Each output is a job's output over the queries file at its positions (causal: keys beyond them are hidden).
        var first = OutputVerifier.Verify(whole, created, AttentionMask.CausalMask, null, rows: 150, queriesPath: parts[0], queryOffset: 0);
        Assert.True(first.Passed, first.Failure);
        var second = OutputVerifier.Verify(whole, appended, AttentionMask.CausalMask, null, rows: 1100, queriesPath: parts[1], queryOffset: 150);
        Assert.True(second.Passed, second.Failure);
    }

    [Fact]
    public async Task BadInput_RefusedNamingTheField_NothingCreated()
    {
        string whole = TestInputs.Write(PathFor("bad.safetensors"), 40, 4, 2, 32, ElementType.F32, seed: 1);
        string other = TestInputs.Write(PathFor("bad-other.safetensors"), 10, 4, 4, 32, ElementType.F32, seed: 2);
        string kvOnly = Split(whole, [40], withQueries: false)[0];
        await using var cluster = await StartAsync(silos: 1);
        async Task<SpecValidationException> Create(string id, SessionSpec spec) =>
            await Assert.ThrowsAsync<SpecValidationException>(() => cluster.Client.CreateSessionAsync(id, spec));

        Assert.Equal("inputs", (await Create("a", new SessionSpec { InputPath = PathFor("missing.safetensors") })).Field);
        Assert.Equal("inputs", (await Create("a", new SessionSpec { InputPath = "/etc/passwd" })).Field);
        Assert.Equal("shards", (await Create("a", new SessionSpec { InputPath = whole, Shards = 0 })).Field);
        Assert.Equal("shards", (await Create("a", new SessionSpec { InputPath = whole, Shards = 41 })).Field);
        Assert.Equal("pageTokens", (await Create("a", new SessionSpec { InputPath = whole, PageTokens = 8 })).Field);
        Assert.Equal("window", (await Create("a", new SessionSpec { InputPath = whole, Window = 0 })).Field);
        Assert.Equal("heads", (await Create("a", new SessionSpec { InputPath = kvOnly })).Field);
        Assert.Equal("session", (await Create("../x", new SessionSpec { InputPath = whole })).Field);
        Assert.Equal("output", (await Create("a", new SessionSpec { InputPath = whole, OutputPath = whole })).Field);
        Assert.Empty(await cluster.Client.ListSessionsAsync());

        var (session, _) = await cluster.Client.CreateSessionAsync("ok", new SessionSpec { InputPath = whole });
        Assert.Equal("session", (await Create("ok", new SessionSpec { InputPath = whole })).Field);
        var wrongHeads = await Assert.ThrowsAsync<SpecValidationException>(() => session.AppendAsync(new SessionRows { InputPath = other }));
        Assert.Equal("kvHeads", wrongHeads.Field);
        Assert.Equal("queries", (await Assert.ThrowsAsync<SpecValidationException>(() => session.AttendAsync(ElementType.F32, 2, new byte[100]))).Field);
        Assert.Equal("queries", (await Assert.ThrowsAsync<SpecValidationException>(() => session.AttendAsync(ElementType.F32, 0, []))).Field);
        Assert.Equal("queryOffset", (await Assert.ThrowsAsync<SpecValidationException>(() => session.AttendAsync(ElementType.F32, 1, new byte[512], -1))).Field);
        byte[] nan = new byte[512];
        BitConverter.TryWriteBytes(nan.AsSpan(4), float.NaN);
        Assert.Equal("queries", (await Assert.ThrowsAsync<SpecValidationException>(() => session.AttendAsync(ElementType.F32, 1, nan))).Field);
        Assert.Equal("session", (await Assert.ThrowsAsync<SpecValidationException>(() => cluster.Client.GetSession("nope").AttendAsync(ElementType.F32, 1, new byte[512]))).Field);
        Assert.Equal(40, (await session.StatsAsync()).Tokens);
    }

    [Fact]
    public async Task Append_RepeatedAfterItsAnswerWasLost_AppliedOnce_OtherLengthRefused()
    {
        string whole = TestInputs.Write(PathFor("repeat.safetensors"), 60, 2, 1, 32, ElementType.F32, seed: 4);
        var parts = Split(whole, [40, 20], withQueries: false);
        await using var cluster = await StartAsync(silos: 1);
        var (session, _) = await cluster.Client.CreateSessionAsync("repeat", new SessionSpec { InputPath = parts[0], Heads = 2 });
        var grain = cluster.Client.Cluster.GetGrain<ISessionGrain>("repeat");
        var first = await grain.AppendAsync(new SessionRows { InputPath = parts[1], AfterTokens = 40 });
        var again = await grain.AppendAsync(new SessionRows { InputPath = parts[1], AfterTokens = 40 });
        Assert.Null(first.Error);
        Assert.Null(again.Error);
        Assert.Equal(60, again.Tokens);
        Assert.Equal(2, again.Segments);
        var stale = await grain.AppendAsync(new SessionRows { InputPath = parts[0], AfterTokens = 40 });
        Assert.Equal("afterTokens", stale.Error?.Field);
        Assert.Contains("expects the session at 40 tokens but it has 60", stale.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(60, (await session.StatsAsync()).Tokens);
    }
}

/// <summary>A session on the device-resident path (the portable kernel on ILGPU's CPU accelerator): pages are device handles.</summary>
public sealed class ResidentSessionTests
{
    [Fact]
    public async Task CreateAppendsAttend_OnDeviceHandles_EqualsFloat64()
    {
        string directory = Path.Combine(Path.GetTempPath(), "ringattn-rsessions-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            string whole = TestInputs.Write(Path.Combine(directory, "whole.safetensors"), 140, 4, 2, 32, ElementType.BF16, seed: 4);
            await using var cluster = await EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
            {
                Silos = 2,
                Device = "ilgpu-cpu",
                AllowedRoots = [directory],
                Configure = o => o.SessionRoot = Path.Combine(directory, "sessions"),
            });
            var (session, _) = await cluster.Client.CreateSessionAsync("r", new SessionSpec { InputPath = whole, Shards = 3, Causal = true, PageTokens = 16 });
            byte[] q;
            using (var file = SafetensorsFile.Open(whole))
            {
                q = new byte[5 * file.GetTensor("q").RowBytes];
                file.ReadRows("q", 135, 5, q);
            }

            var answer = await session.AttendAsync(ElementType.BF16, 5, q, offset: 135);
            Assert.Contains(cluster.DeviceName, (await session.StatsAsync()).ShardStats[0].Device, StringComparison.Ordinal);
            SessionTests.AssertMatchesFloat64(whole, 140, answer, q, AttentionMask.CausalMask, ElementType.BF16);

            // Few rows take the split-K decode kernel: one launch over a shard's three or four pages of 16 tokens.
            foreach (int rows in new[] { 1, 3 })
            {
                byte[] few = q[^(rows * (q.Length / 5))..];
                var decoded = await session.AttendAsync(ElementType.BF16, rows, few, offset: 140 - rows);
                SessionTests.AssertMatchesFloat64(whole, 140, decoded, few, AttentionMask.CausalMask, ElementType.BF16);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
