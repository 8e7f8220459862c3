namespace RingAttention.Contracts.Sessions;

/// <summary>
/// One session (key = session id): its manifest on durable storage, its shard grains, and the calls on it, one at a
/// time. Refusals come back in the result's Error (nothing changes then), never as exceptions.
/// </summary>
[Alias("RingAttention.ISessionGrain")]
public interface ISessionGrain : IGrainWithStringKey
{
    /// <summary>Validates, writes the first segment, fills the shards' pages; with q in the file and an output path,
    /// attends q and writes o and lse. Creating an existing session is refused.</summary>
    [ResponseTimeout("01:00:00")]
    Task<SessionStatus> CreateAsync(SessionSpec spec);

    /// <summary>Appends rows at the next positions (chunked prefill); pages are taken from the pools first, so a
    /// session that cannot get them is refused with the numbers and keeps what it had.</summary>
    [ResponseTimeout("01:00:00")]
    Task<SessionStatus> AppendAsync(SessionRows rows);

    /// <summary>Queries against everything cached: every shard attends its own pages, partials merge by LSE in a tree.</summary>
    [ResponseTimeout("00:10:00")]
    Task<SessionAnswer> AttendAsync(SessionQueries queries);

    /// <summary>Shape, length and every shard's pages.</summary>
    Task<SessionStatus> GetStatsAsync();

    /// <summary>Returns every page to its pool and deletes the session's storage.</summary>
    Task<SessionStatus> DropAsync();
}
