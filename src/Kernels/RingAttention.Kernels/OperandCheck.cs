using RingAttention.Attention;
using RingAttention.Tensors;

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
        // Each message is built only when its rule fails: a session shard checks hundreds of pages per attend.
        if (queries.Heads != spec.Heads)
        {
            throw new ArgumentException($"queries have {queries.Heads} heads but spec.Heads is {spec.Heads}", nameof(queries));
        }

        if (queries.HeadDim != spec.HeadDim)
        {
            throw new ArgumentException($"queries have headDim {queries.HeadDim} but spec.HeadDim is {spec.HeadDim}", nameof(queries));
        }

        if (queries.Type != spec.DType)
        {
            throw new ArgumentException($"queries are {queries.Type} but spec.DType is {spec.DType}", nameof(queries));
        }

        if (keyValues.Heads != spec.KvHeads)
        {
            throw new ArgumentException($"keys have {keyValues.Heads} heads but spec.KvHeads is {spec.KvHeads}", nameof(keyValues));
        }

        if (keyValues.HeadDim != spec.HeadDim)
        {
            throw new ArgumentException($"keys have headDim {keyValues.HeadDim} but spec.HeadDim is {spec.HeadDim}", nameof(keyValues));
        }

        if (keyValues.Type != spec.DType)
        {
            throw new ArgumentException($"keys are {keyValues.Type} but spec.DType is {spec.DType}", nameof(keyValues));
        }

        if (accumulator.Rows != queries.Rows || accumulator.Heads != spec.Heads || accumulator.HeadDim != spec.HeadDim)
        {
            throw new ArgumentException(
                $"accumulator is [{accumulator.Rows}, {accumulator.Heads}, {accumulator.HeadDim}] but queries need [{queries.Rows}, {spec.Heads}, {spec.HeadDim}]",
                nameof(accumulator));
        }
    }

    /// <summary>The operands of <see cref="IAttentionBackend.DequantiseFp8"/>: FP8 codes, a bfloat16 block of the same shape, a factor per kv head.</summary>
    public static void Dequantise(DeviceKeyValues codes, DeviceKeyValues target, Fp8KeyValueScales scales)
    {
        ArgumentNullException.ThrowIfNull(codes);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(scales);
        if (codes.Type != ElementType.F8E4M3)
        {
            throw new ArgumentException($"the block to dequantise is {codes.Type}, not F8E4M3", nameof(codes));
        }

        if (target.Type != ElementType.BF16 || target.Heads != codes.Heads || target.HeadDim != codes.HeadDim || !target.Spans.SequenceEqual(codes.Spans))
        {
            throw new ArgumentException($"the target is {target.Type} [{target.Rows}, {target.Heads}, {target.HeadDim}]; it must be BF16 with the codes' heads, head dim and spans", nameof(target));
        }

        if (scales.Problem(codes.Heads) is { } problem)
        {
            throw new ArgumentException($"{problem.Field}: {problem.Reason}", nameof(scales));
        }
    }

    /// <summary>The byte range [offset, offset + length) lies inside the handle's data.</summary>
    public static void Range(DeviceHandle handle, long offset, long length, string argument)
    {
        if (offset < 0 || length < 0 || offset + length > handle.DataBytes)
        {
            throw new ArgumentOutOfRangeException(argument, $"[{offset}, {offset + length}) is outside the handle's {handle.DataBytes} bytes");
        }
    }
}
