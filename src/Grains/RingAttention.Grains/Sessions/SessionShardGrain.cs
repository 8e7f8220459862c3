using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Placement;
using RingAttention.Kernels;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// Shard i of a session: its pages on one device of the silo it was placed on (device placement, as job shards). An
/// activation starts empty and loads the pieces of its view it lacks, from the session's segments, before it answers;
/// so a shard whose silo died, or that was deactivated while idle (its pages back in the pool), is rebuilt on its next
/// call, page for page as before.
/// </summary>
[DevicePlacement]
public sealed class SessionShardGrain(
    DeviceSet devices,
    Orleans.Runtime.MembershipService.SiloMetadata.ISiloMetadataCache siloMetadata,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    SessionPagePools pools) : Grain, ISessionShardGrain
{
    /// <summary>A child's attend is a read: retried when its silo is lost (the retry re-activates it, reloaded).</summary>
    private static readonly Polly.ResiliencePipeline ChildCalls = RingResilience.Create();

    private KvPages? _pages;

    private (string Session, int Index, int Count) Key => ShardKeys.ParseShardKey(this.GetPrimaryKeyString());

    public async Task<SessionShardStats> SyncAsync(SessionShardView view)
    {
        var table = Table(view);
        using var lease = table.Use();
        var refusal = await EnsureAsync(table, view);
        return Stats(refusal);
    }

    /// <summary>
    /// Answers of up to this many floats (o and lse: a decode step's few rows) take the flat fan-out: the node asks every
    /// shard of its span for its own partial at once and merges them itself, in the tree's order. Through the tree the
    /// last shard starts log2(R) grain calls after the first (three at R = 8), so the shards of one device reach its
    /// lane further apart and share fewer turns (ComputeDevice.AttendEachAsync); merges of answers this small cost
    /// microseconds. Bigger answers (chunked prefill) keep the tree, whose rounds merge in parallel.
    /// </summary>
    public const long FlatFanOutFloats = 1 << 17;

    public async Task<SessionAnswer> AttendAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, int span)
    {
        var (session, index, count) = Key;
        var view = views[index];
        var spec = view.Spec;
        bool flat = (long)queries.Rows * spec.Heads * (spec.HeadDim + 1) <= FlatFanOutFloats;
        // Who this node asks: the tree's children (shard index + s/2 for each level s = 2, 4, ..., span, asked for their
        // halves), or, flat, every shard of the span for its own pages.
        var asked = new Dictionary<int, Task<SessionAnswer>>();
        var nodes = flat ? Enumerable.Range(index + 1, Math.Max(0, span - 1)) : Levels(span).Select(level => index + (level / 2));
        foreach (int child in nodes.Where(c => c < count))
        {
            int childSpan = flat ? 1 : ChildSpan(index, child);
            var grain = GrainFactory.GetGrain<ISessionShardGrain>(ShardKeys.ShardKey(session, child, count));
            asked[child] = ChildCalls.ExecuteOnContextAsync(() => grain.AttendAsync(views, queries, firstPosition, childSpan));
        }

        // One lease across loading and attending: the pool cannot evict the table in between.
        var table = Table(view);
        using var lease = table.Use();
        var refusal = await EnsureAsync(table, view);
        if (refusal is not null)
        {
            await Task.WhenAll(asked.Values);
            return new SessionAnswer { Error = refusal };
        }

        var attention = spec.ToAttentionSpec(view.Tokens);
        var rows = new TensorRows(spec.DType, spec.Heads, spec.HeadDim, [new TokenSpan(firstPosition, queries.Rows)], queries.Data);
        var result = await table.AttendAsync(attention, rows, CancellationToken.None);
        var (merged, error, rounds) = await MergeAsync(index, span, result, asked, flat, count);
        if (error is not null)
        {
            return error;
        }

        return new SessionAnswer
        {
            FirstPosition = firstPosition,
            Rows = merged.Rows,
            Heads = merged.Heads,
            HeadDim = merged.HeadDim,
            Output = merged.Output,
            Lse = merged.Lse,
            MergeRounds = rounds,
        };
    }

    /// <summary>Levels s = 2, 4, ..., span of a node of the tree.</summary>
    private static IEnumerable<int> Levels(int span)
    {
        for (int s = 2; s <= span; s *= 2)
        {
            yield return s;
        }
    }

    private static int ChildSpan(int index, int child) => child - index;

    /// <summary>
    /// Node (<paramref name="index"/>, <paramref name="span"/>) of the tree: its own partial, then for each level s the
    /// half of shard index + s/2 (the child's answer, or, flat, that node merged here from the shards' own answers),
    /// left then right — the same merge order either way. The merge with the child of level s is round log2(s).
    /// </summary>
    private static async Task<(PartialResult Result, SessionAnswer? Error, int Rounds)> MergeAsync(
        int index, int span, PartialResult own, IReadOnlyDictionary<int, Task<SessionAnswer>> asked, bool flat, int count)
    {
        int rounds = 0;
        foreach (int level in Levels(span))
        {
            int child = index + (level / 2);
            if (child >= count)
            {
                break;
            }

            var answer = await asked[child];
            if (answer.Error is not null)
            {
                return (own, answer, rounds);
            }

            var half = answer;
            if (flat && level > 2)
            {
                var childOwn = new PartialResult(answer.Rows, answer.Heads, answer.HeadDim);
                answer.Output.CopyTo(childOwn.Output, 0);
                answer.Lse.CopyTo(childOwn.Lse, 0);
                var (sub, error, _) = await MergeAsync(child, level / 2, childOwn, asked, flat, count);
                if (error is not null)
                {
                    return (own, error, rounds);
                }

                half = answer with { Output = sub.Output, Lse = sub.Lse };
            }

            SoftmaxMerge.MergeInto(own, half.Output, half.Lse);
            rounds = System.Numerics.BitOperations.Log2((uint)level);
        }

        return (own, null, rounds);
    }

    public Task DropAsync()
    {
        Release();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Release();
        return Task.CompletedTask;
    }

    /// <summary>This activation's page table (one for its life: emptied, never replaced, so a lease on it stays valid).</summary>
    private KvPages Table(SessionShardView view)
    {
        if (_pages is null)
        {
            var (session, index, count) = Key;
            var device = ShardDevice.Of(devices, siloMetadata, membership, silo.SiloAddress, session, index, count);
            _pages = new KvPages(pools.For(device), view.Spec);
        }

        return _pages;
    }

    /// <summary>Loads what the view has beyond the table's pages (all of it after an eviction); a view with fewer pieces
    /// (an append that was rolled back) starts the table again.</summary>
    private static async Task<SessionRefusal?> EnsureAsync(KvPages table, SessionShardView view)
    {
        if (view.Pieces.Count < table.PiecesLoaded)
        {
            table.Reset();
        }

        try
        {
            return await table.LoadAsync(view.Pieces, CancellationToken.None);
        }
        catch
        {
            // A half-filled table is never answered from: the next call reloads it.
            table.Reset();
            throw;
        }
    }

    private void Release()
    {
        _pages?.Dispose();
        _pages = null;
    }

    private SessionShardStats Stats(SessionRefusal? refusal) => new()
    {
        Index = Key.Index,
        Silo = silo.SiloAddress.ToParsableString(),
        Device = _pages?.Pool.Device.Name ?? "",
        Tokens = _pages?.Tokens ?? 0,
        Pages = _pages?.Pages ?? 0,
        AllocatedBytes = _pages?.AllocatedBytes ?? 0,
        UsedBytes = _pages?.UsedBytes ?? 0,
        PoolFreeBytes = _pages?.Pool.FreeBytes ?? 0,
        PoolBytes = _pages?.Pool.BudgetBytes ?? 0,
        SegmentsLoaded = _pages?.SegmentsLoaded ?? 0,
        Evictions = _pages?.Evictions ?? 0,
        Error = refusal,
    };
}
