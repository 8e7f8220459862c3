using RingAttention.Attention;

namespace RingAttention.Kernels;

/// <summary>
/// The one check of an <see cref="IAttentionBackend.Accumulate"/> call's operands against its spec, shared by every
/// backend, with messages that name the argument and the rule. It does not re-validate the spec (the caller did, once).
/// </summary>
public static class OperandCheck
{
    public static void Validate(AttentionSpec spec, DeviceRows queries, DeviceKeyValues keyValues, DeviceAccumulator accumulator)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keyValues);
        ArgumentNullException.ThrowIfNull(accumulator);
        Check(queries.Heads == spec.Heads, nameof(queries), $"queries have {queries.Heads} heads but spec.Heads is {spec.Heads}");
        Check(queries.HeadDim == spec.HeadDim, nameof(queries), $"queries have headDim {queries.HeadDim} but spec.HeadDim is {spec.HeadDim}");
        Check(queries.Type == spec.DType, nameof(queries), $"queries are {queries.Type} but spec.DType is {spec.DType}");
        Check(keyValues.Heads == spec.KvHeads, nameof(keyValues), $"keys have {keyValues.Heads} heads but spec.KvHeads is {spec.KvHeads}");
        Check(keyValues.HeadDim == spec.HeadDim, nameof(keyValues), $"keys have headDim {keyValues.HeadDim} but spec.HeadDim is {spec.HeadDim}");
        Check(keyValues.Type == spec.DType, nameof(keyValues), $"keys are {keyValues.Type} but spec.DType is {spec.DType}");
        Check(
            accumulator.Rows == queries.Rows && accumulator.Heads == spec.Heads && accumulator.HeadDim == spec.HeadDim,
            nameof(accumulator),
            $"accumulator is [{accumulator.Rows}, {accumulator.Heads}, {accumulator.HeadDim}] but queries need [{queries.Rows}, {spec.Heads}, {spec.HeadDim}]");
    }

    /// <summary>The byte range [offset, offset + length) lies inside the handle's data.</summary>
    public static void Range(DeviceHandle handle, long offset, long length, string argument)
    {
        if (offset < 0 || length < 0 || offset + length > handle.DataBytes)
        {
            throw new ArgumentOutOfRangeException(argument, $"[{offset}, {offset + length}) is outside the handle's {handle.DataBytes} bytes");
        }
    }

    private static void Check(bool condition, string argument, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, argument);
        }
    }
}
