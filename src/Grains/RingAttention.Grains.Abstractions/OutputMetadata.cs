using System.Globalization;
using System.Reflection;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Contracts;

/// <summary>
/// The <c>__metadata__</c> of an output file: what was computed (mask, window, scale, shards, layout, dtype, shape),
/// by which version, from which input (path, size, modification time), so that a reader or <c>ringattn verify</c>
/// needs no flags to know what the numbers mean. safetensors metadata holds strings only.
/// </summary>
public static class OutputMetadata
{
    /// <summary>Marks a file as a RingAttention output: what may be replaced without --force.</summary>
    public const string ProducerKey = "producer";
    public const string ProducerName = "ringattention";

    public const string VersionKey = "version";
    public const string JobKey = "job";
    public const string MaskKey = "mask";
    public const string WindowKey = "window";

    /// <summary>The scale the user gave; absent when the default 1/sqrt(head dim) was used.</summary>
    public const string ScaleKey = "scale";

    /// <summary>The scale applied, given or default (round-trip float text).</summary>
    public const string ScaleAppliedKey = "scale_applied";
    public const string ShardsKey = "shards";
    public const string LayoutKey = "layout";
    public const string DTypeKey = "dtype";
    public const string ShapeKey = "shape";
    public const string InputKey = "input";

    /// <summary>The queries file of a job whose queries were not the input's, and the global position of its first row.</summary>
    public const string QueriesKey = "queries";
    public const string QueryOffsetKey = "query_offset";
    public const string InputBytesKey = "input_bytes";
    public const string InputModifiedKey = "input_modified_utc";
    public const string LseKey = "lse";

    /// <summary>softmax or linear; linear outputs also carry the feature map, decay and normalisation they used.</summary>
    public const string AttentionKey = "attention";
    public const string FeatureMapKey = "feature_map";
    public const string DecayKey = "decay";
    public const string NormalizeKey = "normalize";

    public static string Version { get; } =
        typeof(OutputMetadata).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown";

    public static IReadOnlyDictionary<string, string> For(JobSpec spec, string jobId)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ProducerKey] = ProducerName,
            [VersionKey] = Version,
            [JobKey] = jobId,
            [MaskKey] = spec.Causal ? "causal" : "none",
            [ScaleAppliedKey] = spec.ToAttentionSpec().EffectiveScale.ToString("R", CultureInfo.InvariantCulture),
            [ShardsKey] = spec.Shards.ToString(CultureInfo.InvariantCulture),
            [LayoutKey] = spec.Layout.ToString().ToLowerInvariant(),
            [DTypeKey] = spec.ComputeType.SafetensorsName(),
            [ShapeKey] = FormattableString.Invariant($"tokens={spec.Tokens} heads={spec.Heads} kv_heads={spec.KvHeads} head_dim={spec.HeadDim}"),
            [LseKey] = "natural log, [heads, tokens], float32; -inf where a row sees no key",
        };
        if (spec.Attention == AttentionKind.Linear)
        {
            // No softmax: no scale, no lse; what φ, γ and the normalisation were instead.
            metadata.Remove(ScaleAppliedKey);
            metadata.Remove(LseKey);
            metadata[AttentionKey] = "linear";
            metadata[FeatureMapKey] = spec.FeatureMap.Name();
            metadata[NormalizeKey] = spec.Normalize ? "true" : "false";
            if (spec.Decay is { } decay)
            {
                metadata[DecayKey] = string.Join(",", decay.Select(g => g.ToString("R", CultureInfo.InvariantCulture)));
            }
        }
        else
        {
            metadata[AttentionKey] = "softmax";
        }

        if (spec.Window is int window)
        {
            metadata[WindowKey] = window.ToString(CultureInfo.InvariantCulture);
        }

        if (spec.Scale is float scale)
        {
            metadata[ScaleKey] = scale.ToString("R", CultureInfo.InvariantCulture);
        }

        if (spec.QueriesPath is string queries)
        {
            metadata[QueriesKey] = queries;
            metadata[QueryOffsetKey] = spec.FirstQueryPosition.ToString(CultureInfo.InvariantCulture);
        }

        if (spec.InputPath is string input)
        {
            metadata[InputKey] = input;
            var info = new FileInfo(input);
            if (info.Exists)
            {
                metadata[InputBytesKey] = info.Length.ToString(CultureInfo.InvariantCulture);
                metadata[InputModifiedKey] = info.LastWriteTimeUtc.ToString("O", CultureInfo.InvariantCulture);
            }
        }

        return metadata;
    }

    /// <summary>Whether the metadata is a RingAttention output's.</summary>
    public static bool IsOurs(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue(ProducerKey, out var producer) && producer == ProducerName;

    /// <summary>The mask and scale an output was computed with, or null for a file without our metadata.</summary>
    public static Computed? Read(IReadOnlyDictionary<string, string> metadata)
    {
        if (!IsOurs(metadata) || !metadata.TryGetValue(MaskKey, out var mask))
        {
            return null;
        }

        int? window = metadata.TryGetValue(WindowKey, out var w) && int.TryParse(w, CultureInfo.InvariantCulture, out int parsedWindow) ? parsedWindow : null;
        float? scale = metadata.TryGetValue(ScaleKey, out var s) && float.TryParse(s, CultureInfo.InvariantCulture, out float parsedScale) ? parsedScale : null;
        metadata.TryGetValue(InputKey, out var input);
        metadata.TryGetValue(QueriesKey, out var queries);
        int? offset = metadata.TryGetValue(QueryOffsetKey, out var o) && int.TryParse(o, CultureInfo.InvariantCulture, out int parsedOffset) ? parsedOffset : null;
        return new Computed(mask == "causal", window, scale, input, queries, offset);
    }

    /// <param name="Scale">The scale the user gave, or null for the default.</param>
    /// <param name="Input">The input file the output was computed from.</param>
    /// <param name="Queries">Its queries file, when the queries were not the input's.</param>
    /// <param name="QueryOffset">The global position of that file's first query.</param>
    public sealed record Computed(bool Causal, int? Window, float? Scale, string? Input, string? Queries = null, int? QueryOffset = null);
}
