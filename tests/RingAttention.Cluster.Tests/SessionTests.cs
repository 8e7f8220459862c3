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

    private Task<EmbeddedCluster> StartAsync(int silos = 3, long poolBytes = 0, string device = "cpu") => EmbeddedCluster.StartAsync(new EmbeddedClusterOptions
    {
        Silos = silos,
        Device = device,
        AllowedRoots = [_directory],
        Configure = o =>
        {
            o.SessionRoot = Root;
            o.SessionMemoryBytes = poolBytes;
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
}
