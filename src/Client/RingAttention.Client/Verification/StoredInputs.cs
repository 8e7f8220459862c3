using RingAttention.Tensors;

namespace RingAttention.Client.Verification;

/// <summary>q, k and v rows as the values they stand for: converted from their stored type, times the FP8 descale
/// factor of their head where the file has them.</summary>
internal sealed class StoredInputs(SafetensorsReader file, SafetensorsReader queriesFile, ElementType type, int heads, int kvHeads, int headDim)
{
    private readonly Dictionary<string, float[]?> _descale = new()
    {
        [TensorNames.Query] = type == ElementType.F8E4M3 ? Fp8Descale.PerHead(queriesFile, TensorNames.Query, heads, kvHeads) : null,
        [TensorNames.Key] = type == ElementType.F8E4M3 ? Fp8Descale.PerHead(file, TensorNames.Key, kvHeads, kvHeads) : null,
        [TensorNames.Value] = type == ElementType.F8E4M3 ? Fp8Descale.PerHead(file, TensorNames.Value, kvHeads, kvHeads) : null,
    };

    private byte[] _raw = [];

    public void Read(string name, int first, int count, int rowHeads, Span<double> destination)
    {
        int bytes = count * rowHeads * headDim * type.Size();
        if (_raw.Length < bytes)
        {
            _raw = new byte[bytes];
        }

        var raw = _raw.AsSpan(0, bytes);
        (name == TensorNames.Query ? queriesFile : file).ReadRows(name, first, count, raw);
        var factors = _descale[name];
        for (int e = 0; e < destination.Length; e++)
        {
            double value = ElementConvert.Read(raw, type, e);
            destination[e] = factors is null ? value : value * factors[(e / headDim) % rowHeads];
        }
    }
}
