using System.Runtime.InteropServices;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// What a linear-attention job (<see cref="AttentionKind.Linear"/>, issue 16) adds to a job's rules, before anything is
/// scheduled: no softmax scale, window or separate queries file; the decay given once, as values or as the input file's
/// <c>decay [heads]</c> F32 tensor; then <see cref="LinearAttentionSpec.Validate"/>'s own rules; the layout is contiguous.
/// Softmax jobs pass through.
/// </summary>
public static class LinearJobRules
{
    public const string DecayTensor = "decay";

    /// <returns>The spec with its decay read from the input file when asked.</returns>
    public static JobSpec Apply(JobSpec spec)
    {
        if (spec.Attention != AttentionKind.Linear)
        {
            return spec;
        }

        if (spec.Scale is not null)
        {
            throw new SpecValidationException("scale", "the softmax scale does not apply to linear attention (--attention linear): leave --scale out");
        }

        if (spec.Window is not null)
        {
            throw new SpecValidationException("window", "windows do not apply to linear attention (--attention linear): leave --window out");
        }

        if (spec.QueriesPath is not null)
        {
            throw new SpecValidationException("queries", "linear attention reads q, k and v from one input file: leave --queries out");
        }

        if (spec.DecayFromInput && spec.Decay is not null)
        {
            throw new SpecValidationException("decay", "give the decay as values or read it from the input file's decay tensor, not both");
        }

        var resolved = spec.DecayFromInput ? spec with { Decay = ReadDecay(spec) } : spec;
        // Linear attention does the same work for every token, masked or not: zigzag's second span per shard balances
        // nothing and costs a state and a pass, so linear jobs run contiguous (the output's metadata says so).
        resolved = resolved with { Layout = ShardLayout.Contiguous };
        resolved.ToLinearSpec().Validate();
        return resolved;
    }

    private static float[] ReadDecay(JobSpec spec)
    {
        if (spec.InputPath is not string path)
        {
            throw new SpecValidationException("decay", "the decay tensor is read from the input file, and this job has none (synthetic inputs): give --decay a value");
        }

        using var file = SafetensorsFile.Open(path, "inputs");
        if (!file.Header.Contains(DecayTensor))
        {
            throw new SpecValidationException($"inputs.{DecayTensor}", $"the input file has no '{DecayTensor}' tensor ([{spec.Heads}] F32, one γ per query head)");
        }

        var info = file.GetTensor(DecayTensor);
        if (info.Type != ElementType.F32 || info.Shape.Length != 1 || info.Shape[0] != spec.Heads)
        {
            throw new SpecValidationException($"inputs.{DecayTensor}",
                $"'{DecayTensor}' is {info.Type.SafetensorsName()} {ShapeMath.Format(info.Shape)}; it must be F32 [{spec.Heads}] (one γ per query head)");
        }

        byte[] raw = new byte[info.ByteLength];
        file.ReadElements(DecayTensor, 0, raw);
        return MemoryMarshal.Cast<byte, float>(raw).ToArray();
    }
}
