using System.Text.Json;
using System.Text.Json.Serialization;
using RingAttention.Contracts.Sessions;

namespace RingAttention.Grains.Sessions;

/// <summary>
/// A session on durable storage: <c>ROOT/ID/session.json</c> (this) beside its K/V segments. The manifest is replaced
/// atomically (temp file, rename) only after the segment it adds is complete on disk, so a crash leaves either the
/// session before the append or after it, never half of it.
/// </summary>
public sealed record SessionManifest(SessionSpec Spec, IReadOnlyList<SegmentRecord> Segments)
{
    public const string FileName = "session.json";

    /// <summary>Tokens cached.</summary>
    public int Tokens => Segments.Count == 0 ? 0 : Segments[^1].Start + Segments[^1].Count;

    public static string PathIn(string directory) => Path.Combine(directory, FileName);

    /// <summary>The manifest in <paramref name="directory"/>, or null when there is none (no such session).</summary>
    public static SessionManifest? Load(string directory)
    {
        string path = PathIn(directory);
        if (!File.Exists(path))
        {
            return null;
        }

        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize(stream, SessionJson.Default.SessionManifest)
            ?? throw new InvalidDataException($"session manifest '{path}' is empty");
    }

    public void Save(string directory)
    {
        string path = PathIn(directory), temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(stream, this, SessionJson.Default.SessionManifest);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>Segment file <see cref="File"/> (in the session's directory) holds positions [Start, Start + Count), copied
/// from the user's file <see cref="Source"/> (path, size and modification time: how a repeated append is recognised).</summary>
public sealed record SegmentRecord(string File, int Start, int Count, string? Source = null)
{
    /// <summary>What identifies a user's file as it was when appended.</summary>
    public static string SourceOf(string path)
    {
        var info = new FileInfo(path);
        return FormattableString.Invariant($"{Path.GetFullPath(path)}|{info.Length}|{info.LastWriteTimeUtc.Ticks}");
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(SessionManifest))]
internal sealed partial class SessionJson : JsonSerializerContext;
