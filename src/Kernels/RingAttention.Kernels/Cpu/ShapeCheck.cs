using RingAttention.Attention;

namespace RingAttention.Kernels.Cpu;

/// <summary>Boundary checks of an Accumulate call, with messages that name the argument and the rule.</summary>
internal static class ShapeCheck
{
    public static void Validate(AttentionSpec spec, TensorRows queries, KeyValueBlock keyValues, PartialResult accumulator)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(queries);
        ArgumentNullException.ThrowIfNull(keyValues);
        ArgumentNullException.ThrowIfNull(accumulator);
        spec.Validate();
        Check(queries.Heads == spec.Heads, nameof(queries), $"queries have {queries.Heads} heads but spec.Heads is {spec.Heads}");
        Check(queries.HeadDim == spec.HeadDim, nameof(queries), $"queries have headDim {queries.HeadDim} but spec.HeadDim is {spec.HeadDim}");
        Check(queries.Type == spec.DType, nameof(queries), $"queries are {queries.Type} but spec.DType is {spec.DType}");
        var keys = keyValues.Keys;
        Check(keys.Heads == spec.KvHeads, nameof(keyValues), $"keys have {keys.Heads} heads but spec.KvHeads is {spec.KvHeads}");
        Check(keys.HeadDim == spec.HeadDim, nameof(keyValues), $"keys have headDim {keys.HeadDim} but spec.HeadDim is {spec.HeadDim}");
        Check(keys.Type == spec.DType, nameof(keyValues), $"keys are {keys.Type} but spec.DType is {spec.DType}");
        Check(
            accumulator.Rows == queries.Rows && accumulator.Heads == spec.Heads && accumulator.HeadDim == spec.HeadDim,
            nameof(accumulator),
            $"accumulator is [{accumulator.Rows}, {accumulator.Heads}, {accumulator.HeadDim}] but queries need [{queries.Rows}, {spec.Heads}, {spec.HeadDim}]");
    }

    private static void Check(bool condition, string argument, string message)
    {
        if (!condition)
        {
            throw new ArgumentException(message, argument);
        }
    }
}
