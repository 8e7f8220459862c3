using System.Text.RegularExpressions;

namespace RingAttention.Cli;

/// <summary>
/// Errors name the flag the user typed, not the spec's field: <c>--kv-heads</c> for <c>gen</c>, but <c>--inputs</c> for
/// <c>run</c>, whose head counts come from the file.
/// </summary>
public static partial class FlagNames
{
    private static readonly Dictionary<string, string> Fields = new(StringComparer.Ordinal)
    {
        ["tokens"] = "--tokens",
        ["heads"] = "--heads",
        ["kvHeads"] = "--kv-heads",
        ["headDim"] = "--head-dim",
        ["dtype"] = "--dtype",
        ["inputs"] = "--inputs",
        ["output"] = "--output",
        ["shards"] = "--shards",
        ["window"] = "--window",
        ["scale"] = "--scale",
        ["layout"] = "--layout",
        ["silos"] = "--silos",
        ["cluster"] = "--cluster",
        ["clusterId"] = "--cluster-id",
        ["maxJobMemory"] = "--max-job-memory",
        ["lease"] = "--lease",
        ["detach"] = "--detach",
        ["device"] = "--device",
        ["queries"] = "--queries",
        ["queryOffset"] = "--q-offset",
        ["pageTokens"] = "--page-tokens",
        ["attention"] = "--attention",
        ["featureMap"] = "--feature-map",
        ["decay"] = "--decay",
        ["normalize"] = "--no-normalize",
        ["exchange"] = "--exchange",
    };

    /// <summary>The shape fields that <c>run</c> and <c>verify</c> read from the input file rather than from a flag.</summary>
    private static readonly HashSet<string> FromInputFile = ["tokens", "heads", "kvHeads", "headDim", "dtype"];

    /// <returns>The flag (or, for fields with none, the field) and the message in the user's words.</returns>
    public static (string Name, string Message) For(string? command, string field, string message)
    {
        bool shapeFromFile = command is "run" or "verify" or "bench";
        if (field.StartsWith("inputs.", StringComparison.Ordinal) || (shapeFromFile && FromInputFile.Contains(field)))
        {
            return ("--inputs", message);
        }

        if (field.StartsWith("queries.", StringComparison.Ordinal))
        {
            return ("--queries", message);
        }

        if (!Fields.TryGetValue(field, out var flag))
        {
            return (field, message);
        }

        // "kvHeads (3) must divide heads (8)" reads as "--kv-heads (3) must divide --heads (8)" where both are flags.
        return (flag, shapeFromFile ? message : FieldWord().Replace(message, m => Fields.TryGetValue(m.Groups[1].Value, out var f) && FromInputFile.Contains(m.Groups[1].Value) ? f + " (" : m.Value));
    }

    [GeneratedRegex(@"\b(tokens|heads|kvHeads|headDim|dtype) \(")]
    private static partial Regex FieldWord();
}
