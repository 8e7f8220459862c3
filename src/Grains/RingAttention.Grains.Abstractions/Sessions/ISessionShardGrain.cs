namespace RingAttention.Contracts.Sessions;

/// <summary>
/// Shard i of a session (key <see cref="ShardKeys.ShardKey"/> of the session id): K/V pages on one device. Every call
/// carries the shard's <see cref="SessionShardView"/>; pieces it does not hold yet are loaded first.
/// </summary>
[Alias("RingAttention.ISessionShardGrain")]
public interface ISessionShardGrain : IGrainWithStringKey
{
    /// <summary>Loads the pieces it lacks; a shard whose pool cannot give the pages answers with Error and holds
    /// nothing more than before.</summary>
    [ResponseTimeout("01:00:00")]
    Task<SessionShardStats> SyncAsync(SessionShardView view);

    /// <summary>
    /// Partial attention of the queries (already in the session's type) over shards <c>[i, i + span)</c> of
    /// <paramref name="views"/> (every shard's, indexed by shard), i being this shard: its own pages for span 1, else its
    /// half <c>[i, i + span/2)</c> merged by LSE with the partial of shard i + span/2 (which it asks for, and which asks
    /// on in turn), left then right: a tree of log2(span) rounds, the same merge order on every call. Shards that share
    /// a device merge there, along the same tree (ADR 27): a shard whose partial went into its parent's on the device
    /// answers with <see cref="SessionAnswer.MergedIntoParent"/>. <paramref name="attend"/> names this attend (every
    /// node of one tree has the same), so that only its own nodes merge.
    /// </summary>
    [ResponseTimeout("00:10:00")]
    Task<SessionAnswer> AttendAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, int span, Guid attend);

    /// <summary>
    /// This node's own partial of the tree <see cref="AttendAsync"/> would run, without asking its children: the caller
    /// asks every node at once and merges their answers along the tree itself (few query rows, where the tree's hops
    /// cost more than the merges: SessionGrain). Nodes on one device still merge there; an answer says through which
    /// level (<see cref="SessionAnswer.MergedThrough"/>), or that its partial went into its parent's.
    /// </summary>
    [ResponseTimeout("00:10:00")]
    Task<SessionAnswer> AttendNodeAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, Guid attend);

    /// <summary>Pages back to the pool, activation gone.</summary>
    Task DropAsync();
}
