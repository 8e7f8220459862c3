using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Tensors;

namespace RingAttention.Client;

/// <summary>
/// A handle on a session: K/V of a context kept sharded on the cluster's devices, to append to and attend against.
/// A refused call throws <see cref="SpecValidationException"/> naming the field and the rule; the session is as it was.
/// Every call is retried on a transient failure: attends and stats are reads, and an append carries the length it
/// expects (<see cref="SessionRows.AfterTokens"/>), so a repeat of one that was applied is recognised, not applied twice.
/// </summary>
public sealed class RingSession
{
    private readonly ISessionGrain _grain;
    private readonly Polly.ResiliencePipeline _calls;

    internal RingSession(string id, ISessionGrain grain, Polly.ResiliencePipeline calls)
    {
        Id = id;
        _grain = grain;
        _calls = calls;
    }

    public string Id { get; }

    internal async Task<SessionStatus> CreateAsync(SessionSpec spec) => Checked(await _grain.CreateAsync(spec));

    /// <summary>Appends k, v (and with q and an output path, writes the new rows' o and lse) from a safetensors file.</summary>
    public async Task<SessionStatus> AppendAsync(SessionRows rows, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.AfterTokens is null)
        {
            var now = await StatsAsync(ct);
            rows = rows with { AfterTokens = now.Exists ? now.Tokens : null };
        }

        return Checked(await _calls.ExecuteAsync(async _ => await _grain.AppendAsync(rows), ct));
    }

    /// <summary>
    /// Attention of q <c>[rows, Hq, D]</c> (row-major bytes of <paramref name="type"/>) at positions
    /// <c>[offset, offset + rows)</c> (default: the session's length) against everything cached.
    /// </summary>
    public async Task<SessionAnswer> AttendAsync(ElementType type, int rows, byte[] queries, int? offset = null, CancellationToken ct = default)
    {
        var request = new SessionQueries { Type = type, Rows = rows, Data = queries, Offset = offset };
        var answer = await _calls.ExecuteAsync(async _ => await _grain.AttendAsync(request), ct);
        return answer.Error is { } refusal ? throw new SpecValidationException(refusal.Field, refusal.Message) : answer;
    }

    /// <summary>Shape, length and every shard's pages (Exists false when there is no such session).</summary>
    public async Task<SessionStatus> StatsAsync(CancellationToken ct = default) =>
        await _calls.ExecuteAsync(async _ => await _grain.GetStatsAsync(), ct);

    /// <summary>Pages back to the pools, storage deleted.</summary>
    public async Task<SessionStatus> DropAsync() => Checked(await _grain.DropAsync());

    private static SessionStatus Checked(SessionStatus status) =>
        status.Error is { } refusal ? throw new SpecValidationException(refusal.Field, refusal.Message) : status;
}
