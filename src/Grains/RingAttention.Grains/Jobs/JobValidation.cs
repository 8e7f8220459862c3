using RingAttention.Attention;
using RingAttention.Grains.Hosting;
using RingAttention.Grains.Ring;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Every check a job passes before any work is scheduled. Errors are <see cref="SpecValidationException"/>s that name
/// the field and the limit. Returns the spec with its shape filled in from the input file.
/// </summary>
public static class JobValidation
{
    /// <param name="cluster">Which kinds of silo the shards may land on (default: a host-path silo, the strictest).</param>
    public static JobSpec Resolve(JobSpec spec, RingAttentionOptions options, ClusterShape? cluster = null)
    {
        cluster ??= ClusterShape.HostOnly;
        JobSpecLimits.Check(spec);
        RequireOutput(spec);
        // Confinement first: nothing outside the roots is looked at, so no answer tells whether a file exists there.
        PathConfinement.Check("output", spec.OutputPath!, options.AllowedRoots);
        if (spec.InputPath is string inputPath)
        {
            PathConfinement.Check("inputs", inputPath, options.AllowedRoots);
        }

        var resolved = Preflight(spec);
        HostBufferLimits.Check(resolved, cluster.HostPathSilos);
        long needed = JobMemory.Estimate(resolved, cluster, options.StagingBufferBytes);
        if (needed > options.MaxJobMemoryBytes)
        {
            throw new SpecValidationException("memory",
                $"the job needs about {JobMemory.Format(needed)} but the limit per job is {JobMemory.Format(options.MaxJobMemoryBytes)} " +
                $"({RingAttentionOptions.SectionName}:{nameof(RingAttentionOptions.MaxJobMemoryBytes)})");
        }

        if (resolved.InputPath is string input)
        {
            CheckFinite(input);
        }

        return resolved;
    }

    /// <summary>
    /// The checks that need only the spec and the files' headers, not the cluster: a client runs them before it starts
    /// or contacts a cluster, so a typo is answered in milliseconds. Reads no tensor data.
    /// </summary>
    public static JobSpec Preflight(JobSpec spec)
    {
        JobSpecLimits.Check(spec);
        RequireOutput(spec);
        OutputTarget.CheckPath(spec);
        if (spec.Shards < 1)
        {
            throw new SpecValidationException("shards", $"shards ({spec.Shards}) must be at least 1");
        }

        if (!Enum.IsDefined(spec.Layout))
        {
            throw new SpecValidationException("layout", $"layout ({(int)spec.Layout}) must be contiguous or zigzag");
        }

        var resolved = (spec.InputPath, spec.SyntheticSeed) switch
        {
            (not null, not null) => throw new SpecValidationException("inputs", "give an input file or a synthetic seed, not both"),
            (null, null) => throw new SpecValidationException("inputs", "give an input file (q, k, v safetensors) or a synthetic seed"),
            (string path, null) => InputFileShape.Apply(spec, path),
            _ => spec,
        };

        resolved.ToAttentionSpec().Validate();
        if (resolved.Shards > resolved.Tokens)
        {
            throw new SpecValidationException("shards", $"shards ({resolved.Shards}) must not exceed tokens ({resolved.Tokens})");
        }

        OutputTarget.CheckWritable(resolved, OutputTarget.Bytes(resolved));
        _ = ShardLayouts.Plan(resolved.Layout, resolved.Tokens, resolved.Shards);
        return resolved;
    }

    private static void RequireOutput(JobSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.OutputPath))
        {
            throw new SpecValidationException("output", "an output path is required");
        }
    }

    private static void CheckFinite(string path)
    {
        using var file = SafetensorsFile.Open(path);
        foreach (string name in new[] { ShardInputs.Query, ShardInputs.Key, ShardInputs.Value })
        {
            if (file.FindFirstNonFinite(name) is { } bad)
            {
                throw new SpecValidationException($"inputs.{name}",
                    $"{name} holds a non-finite value: {bad} (flat index {bad.FlatIndex}); inputs must be finite");
            }
        }
    }
}

/// <summary>What the coordinator knows of the silos a job's shards may land on.</summary>
/// <param name="HostPathSilos">Some active silo computes on the host (the CPU backend).</param>
/// <param name="DeviceSilos">Active silos with a device-resident backend.</param>
public sealed record ClusterShape(bool HostPathSilos, int DeviceSilos)
{
    public static ClusterShape HostOnly { get; } = new(true, 0);
}
