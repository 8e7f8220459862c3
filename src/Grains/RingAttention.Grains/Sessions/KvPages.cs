using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Devices;
using RingAttention.Kernels;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// One session shard's page table: K/V pages of one device, taken from its <see cref="KvPagePool"/>, filled in append
/// order. New rows fill the last page's free rows, then new pages: no page is ever reallocated or copied. Its shard
/// grain calls it one turn at a time, under a <see cref="Use"/> lease; between leases the pool may evict it (pages back,
/// to be reloaded from the segments on the next call) to make room for another session.
/// </summary>
public sealed class KvPages : IDisposable
{
    private readonly KvPagePool pool;
    private readonly SessionSpec spec;
    private readonly List<DeviceKeyValues> _pages = [];
    private readonly List<List<TokenSpan>> _spans = [];

    /// <summary>Leases held (0: idle, evictable), or -1 while the pool evicts it.</summary>
    private int _users;

    public KvPages(KvPagePool pool, SessionSpec spec)
    {
        this.pool = pool;
        this.spec = spec;
        pool.Register(this);
    }

    /// <summary>When a lease was last taken (for the pool's least-recently-used eviction).</summary>
    public long LastUsedTicks { get; private set; }

    /// <summary>Times the pool evicted this table.</summary>
    public int Evictions { get; private set; }

    /// <summary>Pieces of the shard's view loaded so far (the next call loads the ones after).</summary>
    public int PiecesLoaded { get; private set; }

    /// <summary>Segments read from storage by this activation (counts a reload after a re-activation).</summary>
    public int SegmentsLoaded { get; private set; }

    public int Tokens { get; private set; }

    public int Pages => _pages.Count;

    public long AllocatedBytes => _pages.Sum(p => p.DataBytes);

    public long UsedBytes => (long)Tokens * RowBytes * 2;

    public KvPagePool Pool => pool;

    private int RowBytes => spec.KvHeads * spec.HeadDim * spec.DType.Size();

    private int FreeInLast => _pages.Count == 0 ? 0 : _pages[^1].Capacity - _pages[^1].Rows;

    /// <summary>
    /// Loads <paramref name="pieces"/> beyond those already loaded. Pages for all of them are taken first: a pool that
    /// cannot give them leaves the table as it was and the refusal says why.
    /// </summary>
    public async Task<SessionRefusal?> LoadAsync(IReadOnlyList<SegmentPiece> pieces, CancellationToken ct)
    {
        using var lease = Use();
        var fresh = pieces.Skip(PiecesLoaded).ToList();
        if (fresh.Count == 0)
        {
            return null;
        }

        long rows = fresh.Sum(p => (long)p.Positions.Count);
        int pagesNeeded = (int)Math.Max(0, (rows - FreeInLast + spec.PageTokens - 1) / spec.PageTokens);
        if (pagesNeeded > 0)
        {
            var taken = await pool.TakeAsync(spec.DType, spec.KvHeads, spec.HeadDim, spec.PageTokens, pagesNeeded, ct).ConfigureAwait(false);
            if (taken is null)
            {
                long pageBytes = KvPagePool.PageBytes(spec.DType, spec.KvHeads, spec.HeadDim, spec.PageTokens);
                return new SessionRefusal("pages",
                    $"{rows} more rows need {pagesNeeded} pages of {spec.PageTokens} tokens ({Jobs.JobMemory.Format(pagesNeeded * pageBytes)}) on {pool.Device.Name}, " +
                    $"but its page pool has {Jobs.JobMemory.Format(pool.FreeBytes)} free of {Jobs.JobMemory.Format(pool.BudgetBytes)} " +
                    $"({Configuration.RingAttentionOptions.SectionName}:{nameof(Configuration.RingAttentionOptions.SessionMemoryBytes)}); drop a session or use more shards");
            }

            foreach (var page in taken)
            {
                _pages.Add(page);
                _spans.Add([]);
            }
        }

        string? lastFile = null;
        foreach (var piece in fresh)
        {
            await FillAsync(piece, ct).ConfigureAwait(false);
            if (piece.Path != lastFile)
            {
                SegmentsLoaded++;
                lastFile = piece.Path;
            }

            PiecesLoaded++;
        }

        return null;
    }

    /// <summary>Partial attention of <paramref name="queries"/> over this shard's pages (lse -inf where no key is visible),
    /// as node <paramref name="tree"/> of the session's merge tree: merged on the device with the other nodes there.</summary>
    public async Task<ShardPartial> AttendAsync(AttentionSpec attention, TensorRows queries, AttendTree tree, CancellationToken ct)
    {
        using var lease = Use();
        return await pool.Device.AttendEachAsync(attention, queries, _pages, tree, ct).ConfigureAwait(false);
    }

    /// <summary>Keeps the table from eviction until disposed (leases nest). A grain takes one across loading its pieces and
    /// attending, so that it never attends a table emptied in between.</summary>
    public Lease Use()
    {
        for (var spin = default(SpinWait); ; spin.SpinOnce())
        {
            int users = Volatile.Read(ref _users);
            if (users >= 0 && Interlocked.CompareExchange(ref _users, users + 1, users) == users)
            {
                LastUsedTicks = System.Diagnostics.Stopwatch.GetTimestamp();
                return new Lease(this);
            }
        }
    }

    /// <summary>Gives the pages back if no lease is held (the next call reloads them); false when in use.</summary>
    internal bool TryEvict()
    {
        if (Interlocked.CompareExchange(ref _users, -1, 0) != 0)
        {
            return false;
        }

        Empty();
        Evictions++;
        Volatile.Write(ref _users, 0);
        return true;
    }

    /// <summary>Every page back to the pool, for good.</summary>
    public void Dispose()
    {
        pool.Unregister(this);
        Empty();
    }

    /// <summary>Every page back to the pool; the next load starts from the first piece.</summary>
    public void Reset() => Empty();

    private void Empty()
    {
        pool.Return(_pages);
        _pages.Clear();
        _spans.Clear();
        Tokens = 0;
        PiecesLoaded = 0;
        SegmentsLoaded = 0;
    }

    /// <summary>A lease on the table (<see cref="Use"/>).</summary>
    public readonly struct Lease(KvPages table) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref table._users);
    }

    /// <summary>One piece's k and v rows from its segment file into the last page's free rows, then the next pages'.</summary>
    private async Task FillAsync(SegmentPiece piece, CancellationToken ct)
    {
        using var file = SafetensorsFile.Open(piece.Path, "session");
        int rowBytes = RowBytes;
        byte[] buffer = new byte[Math.Min(piece.Positions.Count, spec.PageTokens) * rowBytes];
        int done = 0;
        int page = _pages.FindIndex(p => p.Rows < p.Capacity);
        while (done < piece.Positions.Count)
        {
            var target = _pages[page];
            int count = Math.Min(piece.Positions.Count - done, target.Capacity - target.Rows);
            var rows = buffer.AsMemory(0, count * rowBytes);
            long at = (long)target.Rows * rowBytes;
            file.ReadRows(TensorNames.Key, piece.Row + done, count, rows.Span);
            await pool.Device.UploadAsync(target, at, rows, ct).ConfigureAwait(false);
            file.ReadRows(TensorNames.Value, piece.Row + done, count, rows.Span);
            await pool.Device.UploadAsync(target, target.KeyBytes + at, rows, ct).ConfigureAwait(false);
            Append(page, new TokenSpan(piece.Positions.Start + done, count));
            done += count;
            page++;
        }
    }

    private void Append(int page, TokenSpan span)
    {
        var spans = _spans[page];
        if (spans.Count > 0 && spans[^1].End == span.Start)
        {
            spans[^1] = new TokenSpan(spans[^1].Start, spans[^1].Count + span.Count);
        }
        else
        {
            spans.Add(span);
        }

        _pages[page].Refill([.. spans]);
        Tokens += span.Count;
    }
}
