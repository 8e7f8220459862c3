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
    /// on in turn), left then right: a tree of log2(span) rounds, the same merge order on every call.
    /// </summary>
    [ResponseTimeout("00:10:00")]
    Task<SessionAnswer> AttendAsync(IReadOnlyList<SessionShardView> views, SessionQueries queries, int firstPosition, int span);

    /// <summary>Pages back to the pool, activation gone.</summary>
    Task DropAsync();
}
