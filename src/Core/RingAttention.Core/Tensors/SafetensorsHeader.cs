using RingAttention.Attention;

namespace RingAttention.Tensors;

/// <summary>
/// The parsed header of a safetensors file. File layout (all little-endian):
/// <code>
/// [0, 8)            u64 N: header length in bytes
/// [8, 8 + N)        UTF-8 JSON object, padded with spaces:
///                   { "__metadata__": { "k": "v", ... },                       (optional, strings only)
///                     "q": { "dtype": "F32", "shape": [T, H, D], "data_offsets": [begin, end] }, ... }
/// [8 + N, EOF)      data section; each tensor's row-major bytes at [begin, end) of this section,
///                   the tensors tiling it with no gap or overlap
/// </code>
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>Largest header accepted, as in the python/rust safetensors (100,000,000 bytes).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, SafetensorsEntry> _byName;

    internal SafetensorsHeader(string source, string field, long dataStart,
        IReadOnlyDictionary<string, string> metadata, IReadOnlyList<SafetensorsEntry> entries)
    {
        Source = source;
        Field = field;
        DataStart = dataStart;
        Metadata = metadata;
        Entries = entries;
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    /// <summary>The file path (or description) used in error messages.</summary>
    public string Source { get; }

    /// <summary>The user-facing field errors are reported against, e.g. "inputs"; tensors get "inputs.q".</summary>
    public string Field { get; }

    /// <summary>Absolute offset of the data section: 8 + header length.</summary>
    public long DataStart { get; }

    /// <summary>The "__metadata__" string map, as written (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Every entry, ordered by data offset.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }

    /// <summary>Tensor names, ordered by data offset.</summary>
    public IEnumerable<string> Names => Entries.Select(e => e.Name);

    /// <summary>Whether the file declares a tensor named <paramref name="name"/> (of any dtype).</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>
    /// The tensor <paramref name="name"/>, with an absolute offset. Throws <see cref="SpecValidationException"/>
    /// (field "inputs.name") when it is absent (listing the ones present) or not F32/F16/BF16.
    /// </summary>
    public TensorInfo GetTensor(string name)
    {
        if (!_byName.TryGetValue(name, out var entry))
        {
            string present = Entries.Count == 0 ? "none" : string.Join(", ", Names);
            throw new SpecValidationException($"{Field}.{name}",
                $"tensor '{name}' not found in '{Source}'; tensors present: {present}");
        }

        if (!ElementTypeExtensions.TryParseSafetensors(entry.Dtype, out var type))
        {
            throw new SpecValidationException($"{Field}.{name}",
                $"tensor '{name}' in '{Source}' has dtype {entry.Dtype}; supported dtypes are F32, F16, BF16");
        }

        return new TensorInfo(name, type, entry.Shape, DataStart + entry.Begin, entry.ByteLength);
    }

    /// <summary>
    /// Parses and validates header JSON. <paramref name="fileLength"/> is the whole file's length, used to
    /// check that the tensors tile the data section exactly.
    /// </summary>
    public static SafetensorsHeader Parse(ReadOnlyMemory<byte> json, long fileLength, string source, string field = "inputs")
        => SafetensorsHeaderParser.Parse(json, fileLength, source, field);
}
