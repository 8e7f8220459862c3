using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Placement;
using RingAttention.Grains.Telemetry;
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

    public async Task<SessionAnswer> AttendAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, int span, Guid attend)
    {
        var (session, index, count) = Key;
        using var activity = RingTelemetry.Activities.StartActivity("shard attend")?.SetTag("shard", index);
        // Children of this node of the tree (MergeTree), asked first so that those on this device arrive with it.
        var children = new List<(int Level, Task<SessionAnswer> Answer)>();
        foreach (var (level, child) in MergeTree.Children(index, span, count))
        {
            var grain = GrainFactory.GetGrain<ISessionShardGrain>(ShardKeys.ShardKey(session, child, count));
            children.Add((level, ChildCalls.ExecuteOnContextAsync(() => grain.AttendAsync(views, queries, firstPosition, level / 2, attend))));
        }

        var own = await OwnPartialAsync(views, queries, firstPosition, attend);
        if (own.Partial is not { } partial)
        {
            await Task.WhenAll(children.Select(c => c.Answer));
            return new SessionAnswer { Error = own.Refusal };
        }

        int rounds = 0;
        foreach (var (level, answer) in children)
        {
            SessionAnswer other;
            using (RingTelemetry.Activities.StartActivity("child wait")?.SetTag("shard", index).SetTag("child", index + (level / 2)))
            {
                other = await answer;
            }

            if (other.Error is not null)
            {
                return other;
            }

            // The merge with the child of level s is this node's round log2(s) (its child finished its own earlier).
            rounds = System.Numerics.BitOperations.Log2((uint)level);
            if (partial.MergedIntoParent || level <= partial.Through)
            {
                // Already in this node's partial (or its parent's), merged on the device in the tree's order. A child
                // whose call was retried answers with its partial again: it is the same one, and is not merged twice.
                continue;
            }

            if (other.MergedIntoParent)
            {
                // Only a turn this node shared merges a child into it; anything else would drop the child's keys.
                throw new InvalidOperationException($"shard {index + (level / 2)} of session '{session}' answered as merged into shard {index}, whose partial does not hold it");
            }

            SoftmaxMerge.MergeInto(partial.Result!, other.Output, other.Lse);
        }

        return Answer(partial, firstPosition) with { MergeRounds = rounds };
    }

    public async Task<SessionAnswer> AttendNodeAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, Guid attend)
    {
        using var activity = RingTelemetry.Activities.StartActivity("shard attend")?.SetTag("shard", Key.Index);
        var own = await OwnPartialAsync(views, queries, firstPosition, attend);
        return own.Partial is { } partial
            ? Answer(partial, firstPosition) with { MergedThrough = partial.Through }
            : new SessionAnswer { Error = own.Refusal };
    }

    /// <summary>This node's own partial (its pages loaded first if it lacks any; merged on the device with the nodes of
    /// its subtree that share its turn), or the refusal of its pool.</summary>
    private async Task<(ShardPartial? Partial, SessionRefusal? Refusal)> OwnPartialAsync(
        IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, Guid attend)
    {
        var (session, index, count) = Key;
        var view = views[index];
        var spec = view.Spec;
        // One lease across loading and attending: the pool cannot evict the table in between.
        var table = Table(view);
        using var lease = table.Use();
        SessionRefusal? refusal;
        using (RingTelemetry.Activities.StartActivity("shard load")?.SetTag("shard", index))
        {
            refusal = await EnsureAsync(table, view);
        }

        if (refusal is not null)
        {
            return (null, refusal);
        }

        var attention = spec.ToAttentionSpec(view.Tokens);
        var rows = new TensorRows(spec.DType, spec.Heads, spec.HeadDim, [new TokenSpan(firstPosition, queries.Rows)], queries.Data);
        var tree = new AttendTree(session, attend, index, count, ShardDevice.Sharing(siloMetadata, membership, silo.SiloAddress, session, index, count));
        return (await table.AttendAsync(attention, rows, tree, CancellationToken.None), null);
    }

    /// <summary>A node's answer: its partial, or none when the device merged it into its parent's.</summary>
    private static SessionAnswer Answer(ShardPartial partial, int firstPosition) => partial.Result is { } result
        ? PartialAnswer.Of(result, firstPosition)
        : new SessionAnswer { FirstPosition = firstPosition, MergedIntoParent = true };

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
