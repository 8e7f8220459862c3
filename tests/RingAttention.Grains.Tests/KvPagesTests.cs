using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Sessions;
using RingAttention.Kernels.Cpu;
using RingAttention.Tensors;
using Xunit.Abstractions;

namespace RingAttention.Grains.Tests;

/// <summary>
/// Paged K/V on one device's pool: a random mix of 100 sessions (4 shard tables each) created, appended to and dropped
/// keeps the bytes allocated within a page per shard of the bytes held (issue 15's fragmentation figure, printed), and
/// drops return every page to the pool.
/// </summary>
public sealed class KvPagesTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ringattn-pages-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task RandomMixOf100Sessions_AllocatedOverHeld_WithinAPagePerShard()
    {
        const int shards = 4, pageTokens = 256, kvHeads = 1, headDim = 4;
        var spec = new SessionSpec { Heads = 1, KvHeads = kvHeads, HeadDim = headDim, DType = ElementType.F32, PageTokens = pageTokens, Shards = shards };
        using var device = new ComputeDevice(new CpuAttentionBackend());
        var pool = new KvPagePool(device, 1L << 30);
        var random = new Random(15);
        var live = new Dictionary<int, (KvPages[] Tables, List<SegmentRecord> Segments)>();
        int files = 0;

        async Task AppendAsync(int session, int rows)
        {
            var (tables, segments) = live[session];
            string file = $"s{files++}.safetensors";
            int first = segments.Count == 0 ? 0 : segments[^1].Start + segments[^1].Count;
            byte[] data = new byte[rows * kvHeads * headDim * 4];
            SafetensorsFile.Write(Path.Combine(_directory, file), [("k", ElementType.F32, [rows, kvHeads, headDim], data), ("v", ElementType.F32, [rows, kvHeads, headDim], data)]);
            segments.Add(new SegmentRecord(file, first, rows));
            var pieces = SessionAssignment.Pieces(_directory, segments, shards);
            for (int i = 0; i < shards; i++)
            {
                Assert.Null(await tables[i].LoadAsync(pieces[i], CancellationToken.None));
            }
        }

        for (int step = 0; step < 400; step++)
        {
            int session = random.Next(100);
            if (!live.ContainsKey(session))
            {
                live[session] = ([.. Enumerable.Range(0, shards).Select(_ => new KvPages(pool, spec))], []);
                await AppendAsync(session, random.Next(4096, 32768));
            }
            else if (random.Next(10) == 0)
            {
                foreach (var table in live[session].Tables)
                {
                    table.Dispose();
                }

                live.Remove(session);
            }
            else
            {
                await AppendAsync(session, random.Next(1, 512));
            }
        }

        var all = live.Values.SelectMany(s => s.Tables).ToList();
        long allocated = all.Sum(t => t.AllocatedBytes), used = all.Sum(t => t.UsedBytes);
        double ratio = (double)allocated / used;
        long pageBytes = KvPagePool.PageBytes(ElementType.F32, kvHeads, headDim, pageTokens);
        output.WriteLine(FormattableString.Invariant(
            $"{live.Count} live sessions, {all.Sum(t => t.Tokens)} tokens: allocated {allocated} B / held {used} B = {ratio:0.0000}; pool lent {pool.LentBytes} B"));
        Assert.Equal(allocated, pool.LentBytes);
        Assert.True(allocated - used < all.Count * pageBytes, "more than one partly filled page per shard");
        Assert.True(ratio <= 1.04, $"allocated / held = {ratio:0.0000}");

        foreach (var table in all)
        {
            table.Dispose();
        }

        Assert.Equal(0, pool.LentBytes);
    }

    /// <summary>
    /// A pool too small for three sessions at once: the third load evicts the least recently used idle table (not one
    /// whose lease is held), and the evicted table reloads every piece on its next load; with every table leased, the
    /// load is refused.
    /// </summary>
    [Fact]
    public async Task FullPool_EvictsTheLeastRecentlyUsedIdleTable_NeverOneInUse()
    {
        var spec = new SessionSpec { Heads = 1, KvHeads = 1, HeadDim = 4, DType = ElementType.F32, PageTokens = 16, Shards = 1 };
        long pageBytes = KvPagePool.PageBytes(ElementType.F32, 1, 4, 16);
        using var device = new ComputeDevice(new CpuAttentionBackend());
        var pool = new KvPagePool(device, 8 * pageBytes);
        IReadOnlyList<SegmentPiece> Pieces(string name, int rows)
        {
            byte[] data = new byte[rows * 16];
            SafetensorsFile.Write(Path.Combine(_directory, name), [("k", ElementType.F32, [rows, 1, 4], data), ("v", ElementType.F32, [rows, 1, 4], data)]);
            return SessionAssignment.Pieces(_directory, [new SegmentRecord(name, 0, rows)], 1)[0];
        }

        var a = new KvPages(pool, spec);
        var b = new KvPages(pool, spec);
        var c = new KvPages(pool, spec);
        var aPieces = Pieces("a.safetensors", 60);
        Assert.Null(await a.LoadAsync(aPieces, CancellationToken.None));      // 4 pages
        Assert.Null(await b.LoadAsync(Pieces("b.safetensors", 60), CancellationToken.None));   // 4 pages: the pool is full
        Assert.Null(await c.LoadAsync(Pieces("c.safetensors", 30), CancellationToken.None));   // 2 pages: a (oldest) goes
        Assert.Equal((1, 0, 0), (a.Evictions, b.Evictions, c.Evictions));
        Assert.Equal(0, a.Tokens);
        Assert.Equal(6 * pageBytes, pool.LentBytes);

        // a comes back (everything reloaded); b is now the oldest idle table.
        Assert.Null(await a.LoadAsync(aPieces, CancellationToken.None));
        Assert.Equal((60, 1), (a.Tokens, b.Evictions));

        // Every table leased: nothing can go, so the load is refused and nothing is taken.
        var d = new KvPages(pool, spec);
        using (a.Use())
        using (c.Use())
        {
            var refusal = await d.LoadAsync(Pieces("d.safetensors", 60), CancellationToken.None);
            Assert.Equal("pages", refusal?.Field);
        }

        Assert.Equal((60, 30, 0), (a.Tokens, c.Tokens, d.Tokens));
        foreach (var table in new[] { a, b, c, d })
        {
            table.Dispose();
        }

        Assert.Equal(0, pool.LentBytes);
    }
}
