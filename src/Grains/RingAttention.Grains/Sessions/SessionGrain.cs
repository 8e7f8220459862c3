using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Jobs;
using RingAttention.Grains.Telemetry;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// One session. Its truth is on storage (<see cref="SessionManifest"/> and segments under ROOT/ID), read when the grain
/// activates, so a session outlives the silo (and the process) that created it. Calls run one at a time. Every change
/// is durable before it is answered or an output is written for it: the manifest (atomic) names a segment only once
/// the segment is on the disk; the shards fill their pages from the segment's bytes meanwhile (ADR 27's companion in
/// bench/NOTES.md v21). An append the pools cannot hold, or whose flush fails, is undone (manifest restored, segment
/// deleted) and refused with the numbers or failed.
/// </summary>
public sealed partial class SessionGrain(IOptions<RingAttentionOptions> options, ILocalSiloDetails silo, ILogger<SessionGrain> logger) : Grain, ISessionGrain
{
    /// <summary>Every call to a shard is idempotent (sync loads what is missing, attend reads, drop empties), so one that
    /// failed for a transient reason (its silo died: the retry re-activates it elsewhere, where it reloads) is retried.</summary>
    private static readonly Polly.ResiliencePipeline ShardCalls = RingResilience.Create();

    private SessionManifest? _manifest;
    private (SessionManifest Manifest, IReadOnlyList<SessionShardView> Views)? _views;

    /// <summary>Seconds of the last create or append: its durable copy (writing the segment, and waiting for its flush and
    /// the manifest where the rest did not hide them), the shards' page fills, and the prefill's attends (when the rows
    /// had q).</summary>
    private (double Segment, double Load, double Attend) _lastTimes;

    private string Id => this.GetPrimaryKeyString();

    private string? Root => options.Value.SessionRoot;

    private string Directory => Path.Combine(Root!, Id);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (Root is not null && Valid(Id))
        {
            _manifest = SessionManifest.Load(Directory);
        }

        return Task.CompletedTask;
    }

    public async Task<SessionStatus> CreateAsync(SessionSpec spec)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            RequireStorage();
            if (_manifest is not null)
            {
                throw new SpecValidationException("session", $"session '{Id}' exists ({_manifest.Tokens} tokens); append to it, or drop it first");
            }

            var resolved = Validate(spec);
            var shape = SessionInputs.Inspect(spec.InputPath, null);
            resolved = resolved with
            {
                KvHeads = shape.KvHeads,
                HeadDim = shape.HeadDim,
                DType = shape.Type.ComputeType(),
                Heads = shape.HasQueries ? shape.Heads : spec.Heads,
            };
            if (resolved.Heads == 0)
            {
                throw new SpecValidationException("heads", "the file has no q, so give the query heads (heads, a multiple of the file's kv heads)");
            }

            if (shape.HasQueries && spec.Heads != 0 && spec.Heads != shape.Heads)
            {
                throw new SpecValidationException("heads", $"heads ({spec.Heads}) does not match the file's q ({shape.Heads})");
            }

            resolved.ToAttentionSpec(shape.Tokens).Validate();
            if (resolved.Shards > shape.Tokens)
            {
                throw new SpecValidationException("shards", $"shards ({resolved.Shards}) must not exceed the tokens of the first segment ({shape.Tokens})");
            }

            var output = PrefillOutput(resolved, spec.InputPath, spec.OutputPath, spec.Overwrite, shape, 0);
            System.IO.Directory.CreateDirectory(Directory);
            var manifest = new SessionManifest(resolved, []);
            var firstRows = ReadAhead(resolved, spec.InputPath, output, shape.Tokens);
            var (refusal, durable) = await AddSegmentAsync(manifest, spec.InputPath, shape.Tokens);
            if (refusal is not null)
            {
                return Refused(refusal);
            }

            try
            {
                if (output is not null)
                {
                    await PrefillAsync(spec.InputPath, output, 0, shape.Tokens, firstRows!, durable);
                }
            }
            finally
            {
                await DurableWaitAsync(durable);
            }

            LogCreated(Id, shape.Tokens, resolved.Shards);
            return await StatusAsync(Stopwatch.GetElapsedTime(started).TotalSeconds, output?.OutputPath);
        }
        catch (SpecValidationException e)
        {
            return Refused(new SessionRefusal(e.Field, e.Reason));
        }
    }

    public async Task<SessionStatus> AppendAsync(SessionRows rows)
    {
        using var activity = RingTelemetry.Activities.StartActivity("session append");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var manifest = RequireSession();
            PathConfinement.Check("inputs", rows.InputPath, options.Value.AllowedRoots);
            var shape = SessionInputs.Inspect(rows.InputPath, manifest.Spec);
            if (rows.AfterTokens is int after && after != manifest.Tokens)
            {
                if (manifest.Segments.Count > 0 && manifest.Segments[^1] is var last && last.Start == after && last.Count == shape.Tokens
                    && last.Source == SegmentRecord.SourceOf(rows.InputPath))
                {
                    // The same append again (its answer was lost): nothing to do.
                    return await StatusAsync(Stopwatch.GetElapsedTime(started).TotalSeconds, null);
                }

                throw new SpecValidationException("afterTokens",
                    $"the append expects the session at {after} tokens but it has {manifest.Tokens}; another append came first");
            }

            if ((long)manifest.Tokens + shape.Tokens > int.MaxValue)
            {
                throw new SpecValidationException("inputs", $"{shape.Tokens} more tokens would pass {int.MaxValue} in the session");
            }

            int first = manifest.Tokens;
            var output = PrefillOutput(manifest.Spec, rows.InputPath, rows.OutputPath, rows.Overwrite, shape, first);
            var firstRows = ReadAhead(manifest.Spec, rows.InputPath, output, shape.Tokens);
            var (refusal, durable) = await AddSegmentAsync(manifest, rows.InputPath, shape.Tokens);
            if (refusal is not null)
            {
                return Refused(refusal);
            }

            try
            {
                if (output is not null)
                {
                    await PrefillAsync(rows.InputPath, output, first, shape.Tokens, firstRows!, durable);
                }
            }
            finally
            {
                await DurableWaitAsync(durable);
            }

            return await StatusAsync(Stopwatch.GetElapsedTime(started).TotalSeconds, output?.OutputPath);
        }
        catch (SpecValidationException e)
        {
            return Refused(new SessionRefusal(e.Field, e.Reason));
        }
    }

    public async Task<SessionAnswer> AttendAsync(SessionQueries queries)
    {
        using var activity = RingTelemetry.Activities.StartActivity("session attend");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var manifest = RequireSession();
            SessionQueries converted;
            using (RingTelemetry.Activities.StartActivity("check queries"))
            {
                converted = SessionQueryCheck.Resolve(queries, manifest.Spec, manifest.Tokens);
            }

            int offset = converted.Offset!.Value;
            var answer = await AttendRowsAsync(manifest, converted, offset);
            return answer with { Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds };
        }
        catch (SpecValidationException e)
        {
            return new SessionAnswer { Error = new SessionRefusal(e.Field, e.Reason) };
        }
    }

    public async Task<SessionStatus> GetStatsAsync() => _manifest is null ? new SessionStatus { SessionId = Id } : await StatusAsync(0, null);

    public async Task<SessionStatus> DropAsync()
    {
        if (_manifest is null)
        {
            return new SessionStatus { SessionId = Id, Error = new SessionRefusal("session", $"there is no session '{Id}'") };
        }

        int shards = _manifest.Spec.Shards;
        await Task.WhenAll(Enumerable.Range(0, shards).Select(i => ShardCalls.ExecuteOnContextAsync(() => Shard(i, shards).DropAsync())));
        System.IO.Directory.Delete(Directory, recursive: true);
        LogDropped(Id, _manifest.Tokens);
        _manifest = null;
        DeactivateOnIdle();
        return new SessionStatus { SessionId = Id };
    }

    private static bool Valid(string id)
    {
        try
        {
            SessionIds.Check(id);
            return true;
        }
        catch (SpecValidationException)
        {
            return false;
        }
    }

    private void RequireStorage()
    {
        if (Root is null)
        {
            throw new SpecValidationException("session",
                $"this cluster keeps no sessions: no session directory is configured ({RingAttentionOptions.SectionName}:{nameof(RingAttentionOptions.SessionRoot)})");
        }

        SessionIds.Check(Id);
    }

    private SessionManifest RequireSession()
    {
        RequireStorage();
        return _manifest ?? throw new SpecValidationException("session", $"there is no session '{Id}' (create it first; `session list` shows those there are)");
    }

    private SessionSpec Validate(SessionSpec spec)
    {
        if (spec.Shards < 1 || spec.Shards > 1024)
        {
            throw new SpecValidationException("shards", $"shards ({spec.Shards}) must be between 1 and 1024");
        }

        if (spec.PageTokens < 16 || spec.PageTokens > SessionSpec.MaxPageTokens)
        {
            throw new SpecValidationException("pageTokens", $"pageTokens ({spec.PageTokens}) must be between 16 and {SessionSpec.MaxPageTokens}");
        }

        if (spec.Heads < 0)
        {
            throw new SpecValidationException("heads", $"heads ({spec.Heads}) must not be negative");
        }

        if (string.IsNullOrWhiteSpace(spec.InputPath))
        {
            throw new SpecValidationException("inputs", "an input file (k and v, optionally q) is required");
        }

        PathConfinement.Check("inputs", spec.InputPath, options.Value.AllowedRoots);
        // Mask and scale rules are the attention spec's (checked with the file's shape).
        return spec with { OutputPath = null, Overwrite = false };
    }

    private async Task<SessionAnswer> AttendRowsAsync(SessionManifest manifest, SessionQueries queries, int offset)
    {
        int shards = manifest.Spec.Shards;
        // Decode steps ask every node at once (RingAttentionOptions.SessionFlatMostRows, ADR 31): the tree's hops down and
        // back up (~0.1 ms each on nvidia-h200, three each way at R = 8) cost more than merging a few small partials
        // here; larger partials keep the tree, whose merges run in parallel rounds.
        if (shards > 1 && queries.Rows <= options.Value.SessionFlatMostRows && await AttendFlatAsync(manifest, queries, offset) is { } flat)
        {
            return flat.Error is not null ? flat : flat with { FirstPosition = offset };
        }

        int span = (int)BitOperations.RoundUpToPowerOf2((uint)shards);
        // A new name for each try: a retried tree never merges with what is left of the one before.
        var answer = await ShardCalls.ExecuteOnContextAsync(() => Shard(0, shards).AttendAsync(Views(manifest), queries, offset, span, Guid.NewGuid()));
        return answer.Error is not null ? answer : answer with { FirstPosition = offset };
    }

    /// <summary>Every node of the tree asked at once, each call retried on its own; their answers merged along the tree,
    /// or null when they do not fit together (<see cref="TreeAnswers.Merge"/>: then the tree runs, under a new name).</summary>
    private async Task<SessionAnswer?> AttendFlatAsync(SessionManifest manifest, SessionQueries queries, int offset)
    {
        int shards = manifest.Spec.Shards;
        var views = Views(manifest);
        var attend = Guid.NewGuid();
        var answers = await Task.WhenAll(Enumerable.Range(0, shards)
            .Select(i => ShardCalls.ExecuteOnContextAsync(() => Shard(i, shards).AttendNodeAsync(views, queries, offset, attend))));
        return TreeAnswers.Merge(answers);
    }

    /// <summary>Every shard's view of <paramref name="manifest"/>; the current manifest's are kept (a decode loop asks
    /// for them on every attend, and replaying every segment each time would grow with the session's appends).</summary>
    private IReadOnlyList<SessionShardView> Views(SessionManifest manifest)
    {
        if (_views is { } cached && ReferenceEquals(cached.Manifest, manifest))
        {
            return cached.Views;
        }

        var pieces = SessionAssignment.Pieces(Directory, manifest.Segments, manifest.Spec.Shards);
        IReadOnlyList<SessionShardView> views = [.. pieces.Select((p, i) => new SessionShardView { Spec = manifest.Spec, Index = i, Pieces = p, Tokens = manifest.Tokens })];
        _views = (manifest, views);
        return views;
    }

    private ISessionShardGrain Shard(int index, int count) => GrainFactory.GetGrain<ISessionShardGrain>(ShardKeys.ShardKey(Id, index, count));

    private async Task<SessionStatus> StatusAsync(double seconds, string? output)
    {
        using var activity = RingTelemetry.Activities.StartActivity("shard stats");
        var manifest = _manifest!;
        var spec = manifest.Spec;
        IReadOnlyList<SessionShardStats> shards =
            await Task.WhenAll(Views(manifest).Select((view, i) => ShardCalls.ExecuteOnContextAsync(() => Shard(i, spec.Shards).SyncAsync(view))));
        return new SessionStatus
        {
            SessionId = Id,
            Exists = true,
            Tokens = manifest.Tokens,
            Shards = spec.Shards,
            Heads = spec.Heads,
            KvHeads = spec.KvHeads,
            HeadDim = spec.HeadDim,
            DType = spec.DType,
            Causal = spec.Causal,
            Window = spec.Window,
            PageTokens = spec.PageTokens,
            Segments = manifest.Segments.Count,
            ShardStats = shards,
            Seconds = seconds,
            Output = output,
            Silo = silo.SiloAddress.ToParsableString(),
            SegmentSeconds = seconds > 0 ? _lastTimes.Segment : 0,
            LoadSeconds = seconds > 0 ? _lastTimes.Load : 0,
            PrefillAttendSeconds = seconds > 0 ? _lastTimes.Attend : 0,
        };
    }

    private SessionStatus Refused(SessionRefusal refusal) => new()
    {
        SessionId = Id,
        Exists = _manifest is not null,
        Tokens = _manifest?.Tokens ?? 0,
        Error = refusal,
    };

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "session {Session} created: {Tokens} tokens on {Shards} shards")]
    private partial void LogCreated(string session, int tokens, int shards);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "session {Session} dropped ({Tokens} tokens)")]
    private partial void LogDropped(string session, int tokens);
}
