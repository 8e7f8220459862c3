using RingAttention.Attention;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Ring;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Every check a job passes before any work is scheduled, in one entry (<see cref="Resolve"/>): limits, confinement,
/// the input file's header, the shard plan, host buffers, the job's memory, device fit, each silo's budget, and a
/// scan for non-finite inputs. Errors are <see cref="SpecValidationException"/>s that name the field and the limit.
/// </summary>
public static class JobValidation
{
    /// <returns>The spec with its shape filled in from the input file, its shard plan, and what it needs per silo.</returns>
    public static ValidatedJob Resolve(JobSpec spec, RingAttentionOptions options, ClusterView cluster)
    {
        JobSpecLimits.Check(spec);
        RequireOutput(spec);
        // Confinement first: nothing outside the roots is looked at, so no answer tells whether a file exists there.
        PathConfinement.Check("output", spec.OutputPath!, options.AllowedRoots);
        if (spec.InputPath is string inputPath)
        {
            PathConfinement.Check("inputs", inputPath, options.AllowedRoots);
        }

        if (spec.QueriesPath is string queriesPath)
        {
            PathConfinement.Check("queries", queriesPath, options.AllowedRoots);
        }

        var (resolved, spans) = Preflight(spec);
        var shape = cluster.Shape;
        HostBufferLimits.Check(resolved, shape.HostPathSilos);
        long needed = JobMemory.Estimate(resolved, shape, options.StagingBufferBytes);
        if (needed > options.MaxJobMemoryBytes)
        {
            throw new SpecValidationException("memory",
                $"the job needs about {JobMemory.Format(needed)} but the limit per job is {JobMemory.Format(options.MaxJobMemoryBytes)} " +
                $"({RingAttentionOptions.SectionName}:{nameof(RingAttentionOptions.MaxJobMemoryBytes)})");
        }

        DeviceAdmission.Check(resolved, cluster.Devices);
        int silos = Math.Max(1, cluster.ActiveSilos);
        long perSilo = JobMemory.PerSilo(resolved, cluster.DevicesPerSilo, shape, options.StagingBufferBytes);
        long budget = options.EffectiveSiloMemoryBytes;
        if (perSilo > budget)
        {
            throw new SpecValidationException("memory",
                $"the job needs about {JobMemory.Format(perSilo)} on each of {silos} silos but a silo lends at most {JobMemory.Format(budget)} " +
                $"to jobs ({RingAttentionOptions.SectionName}:{nameof(RingAttentionOptions.SiloMemoryBytes)}); use more shards or silos");
        }

        if (resolved.InputPath is string input)
        {
            CheckFinite(input, resolved.QueriesPath is null ? [TensorNames.Query, TensorNames.Key, TensorNames.Value] : [TensorNames.Key, TensorNames.Value], "inputs");
        }

        if (resolved.QueriesPath is string queries)
        {
            CheckFinite(queries, [TensorNames.Query], "queries");
        }

        return new ValidatedJob(resolved, spans, perSilo);
    }

    /// <summary>
    /// The checks that need only the spec and the files' headers, not the cluster: a client runs them before it starts
    /// or contacts a cluster, so a typo is answered in milliseconds. Reads no tensor data.
    /// </summary>
    /// <returns>The spec with its shape from the input file, and its shard plan.</returns>
    public static (JobSpec Spec, IReadOnlyList<IReadOnlyList<TokenSpan>> Spans) Preflight(JobSpec spec)
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
            _ when spec.DType.ComputeType() != spec.DType =>
                throw new SpecValidationException("dtype", $"dtype {spec.DType.SafetensorsName()} is for input files (with descale factors); synthetic inputs are f32, f16 or bf16"),
            _ => spec,
        };

        resolved = LinearJobRules.Apply(resolved);
        resolved.ToAttentionSpec().Validate();
        if (resolved.Shards > resolved.Tokens)
        {
            throw new SpecValidationException("shards", $"shards ({resolved.Shards}) must not exceed tokens ({resolved.Tokens})");
        }

        OutputTarget.CheckWritable(resolved, OutputTarget.Bytes(resolved));
        return (resolved, ShardLayouts.Plan(resolved.Layout, resolved.Tokens, resolved.Shards));
    }

    private static void RequireOutput(JobSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.OutputPath))
        {
            throw new SpecValidationException("output", "an output path is required");
        }
    }

    /// <summary>Refuses the first non-finite value of the tensors, naming the tensor, the element and its flat index.</summary>
    internal static void CheckFinite(string path, string[] tensors, string source)
    {
        using var file = SafetensorsFile.Open(path, source);
        foreach (string name in tensors)
        {
            if (file.FindFirstNonFinite(name) is { } bad)
            {
                throw new SpecValidationException($"{source}.{name}",
                    $"{name} holds a non-finite value: {bad} (flat index {bad.FlatIndex}); inputs must be finite");
            }
        }
    }
}
