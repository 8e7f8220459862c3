using System.Diagnostics;
using RingAttention.Contracts.Sessions;
using RingAttention.Grains.Telemetry;
using RingAttention.Tensors;

namespace RingAttention.Grains.Sessions;

/// <summary>An append's durable copy: the segment, the pages filled from it, the manifest that names it (ADR 28), and
/// the undo of an append that cannot be kept.</summary>
public sealed partial class SessionGrain
{
    /// <summary>
    /// Segment, pages, manifest. The segment's bytes are written (to the page cache) and the shards fill their pages from
    /// them while the segment is flushed to the disk and only then named by the manifest: the flush (most of a durable
    /// copy's time on nvidia-h200, bench/NOTES.md v21) runs beside the page fills and a prefill's attends instead of
    /// before them. The returned task is that durable step: the caller awaits it before it writes an output or answers
    /// (a failed one has undone the append and rethrows). A refusal from any shard undoes the append (after the flush,
    /// so that the manifest it restores is the last one saved).
    /// </summary>
    private async Task<(SessionRefusal? Refusal, Task Durable)> AddSegmentAsync(SessionManifest manifest, string input, int tokens)
    {
        string file = $"segment-{manifest.Segments.Count + 1:D6}.safetensors";
        string segment = Path.Combine(Directory, file);
        long started = Stopwatch.GetTimestamp();
        var copy = RingTelemetry.Activities.StartActivity("durable copy");
        SessionInputs.WriteSegment(input, segment, manifest.Spec, manifest.Tokens, Id);
        var grown = manifest with { Segments = [.. manifest.Segments, new SegmentRecord(file, manifest.Tokens, tokens, SegmentRecord.SourceOf(input))] };
        string directory = Directory;
        var flushed = Task.Run(() =>
        {
            using var flush = RingTelemetry.Activities.StartActivity("segment flush, manifest");
            SafetensorsWriter.FlushToDisk(segment);
            grown.Save(directory);
        });
        copy?.Dispose();
        _manifest = grown;
        _lastTimes = (Stopwatch.GetElapsedTime(started).TotalSeconds, 0, 0);
        started = Stopwatch.GetTimestamp();
        SessionShardStats[] stats;
        using (RingTelemetry.Activities.StartActivity("page fills"))
        {
            stats = await Task.WhenAll(Views(grown).Select((view, i) => ShardCalls.ExecuteOnContextAsync(() => Shard(i, grown.Spec.Shards).SyncAsync(view))));
        }

        _lastTimes = _lastTimes with { Load = Stopwatch.GetElapsedTime(started).TotalSeconds };
        if (stats.FirstOrDefault(s => s.Error is not null)?.Error is not { } refusal)
        {
            return (null, DurableOrUndoneAsync(flushed, manifest, file));
        }

        // Whether or not the flush worked, it is over before the manifest is restored (its failure, if any, observed here:
        // the refusal is the answer).
        await Task.WhenAny(flushed);
        _ = flushed.Exception;
        await UndoAsync(manifest, file);
        return (refusal, Task.CompletedTask);
    }

    /// <summary>Waits for the append's durable step; the time waited counts as the durable copy's (the flush time that the
    /// page fills and the prefill did not hide).</summary>
    private async Task DurableWaitAsync(Task durable)
    {
        long started = Stopwatch.GetTimestamp();
        using (RingTelemetry.Activities.StartActivity("durable wait"))
        {
            await durable;
        }

        _lastTimes = _lastTimes with { Segment = _lastTimes.Segment + Stopwatch.GetElapsedTime(started).TotalSeconds };
    }

    /// <summary>The append's durable step; if it failed, the append is undone and the failure rethrown.</summary>
    private async Task DurableOrUndoneAsync(Task flushed, SessionManifest before, string file)
    {
        try
        {
            await flushed;
        }
        catch
        {
            // The step failed before the manifest's rename (its last act), so the manifest on the disk is still before's.
            await UndoAsync(before, file, manifestSaved: false);
            throw;
        }
    }

    /// <summary>Back to <paramref name="before"/>: its manifest saved again (when the grown one was), the shards resynced
    /// to it (or dropped, and the session's directory deleted, when it had no segment: a create), the segment deleted.</summary>
    private async Task UndoAsync(SessionManifest before, string file, bool manifestSaved = true)
    {
        if (before.Segments.Count > 0)
        {
            if (manifestSaved)
            {
                before.Save(Directory);
            }

            _manifest = before;
            // Shards that loaded the undone rows see fewer pieces and start again from the segments kept.
            await Task.WhenAll(Views(before).Select((view, i) => ShardCalls.ExecuteOnContextAsync(() => Shard(i, before.Spec.Shards).SyncAsync(view))));
            File.Delete(Path.Combine(Directory, file));
        }
        else
        {
            _manifest = null;
            await Task.WhenAll(Enumerable.Range(0, before.Spec.Shards).Select(i => ShardCalls.ExecuteOnContextAsync(() => Shard(i, before.Spec.Shards).DropAsync())));
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }
}
