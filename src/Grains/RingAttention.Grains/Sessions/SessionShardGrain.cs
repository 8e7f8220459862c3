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

    public async Task<SessionAnswer> AttendAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, int span)
    {
        var (session, index, count) = Key;
        var view = views[index];
        using var activity = RingTelemetry.Activities.StartActivity("shard attend")?.SetTag("shard", index);
        // Children of this node of the tree: shard index + s/2 for every level s = 2, 4, ..., span (those that exist).
        var children = new List<(int Level, Task<SessionAnswer> Answer)>();
        for (int s = 2; s <= span; s *= 2)
        {
            int child = index + (s / 2);
            if (child < count)
            {
                var grain = GrainFactory.GetGrain<ISessionShardGrain>(ShardKeys.ShardKey(session, child, count));
                children.Add((s, ChildCalls.ExecuteOnContextAsync(() => grain.AttendAsync(views, queries, firstPosition, s / 2))));
            }
        }

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
            await Task.WhenAll(children.Select(c => c.Answer));
            return new SessionAnswer { Error = refusal };
        }

        var attention = spec.ToAttentionSpec(view.Tokens);
        var rows = new TensorRows(spec.DType, spec.Heads, spec.HeadDim, [new TokenSpan(firstPosition, queries.Rows)], queries.Data);
        var result = await table.AttendAsync(attention, rows, CancellationToken.None);
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

            SoftmaxMerge.MergeInto(result, other.Output, other.Lse);
            // The merge with the child of level s is this node's round log2(s) (its child finished its own earlier).
            rounds = System.Numerics.BitOperations.Log2((uint)level);
        }

        return new SessionAnswer
        {
            FirstPosition = firstPosition,
            Rows = result.Rows,
            Heads = result.Heads,
            HeadDim = result.HeadDim,
            Output = result.Output,
            Lse = result.Lse,
            MergeRounds = rounds,
        };
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
