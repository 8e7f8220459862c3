using Microsoft.Extensions.Options;

namespace RingAttention.Grains.Configuration;

/// <summary>Limits and timeouts of ring jobs on a silo (configuration section "RingAttention").</summary>
public sealed class RingAttentionOptions
{
    public const string SectionName = "RingAttention";

    /// <summary>Largest job, in bytes of all its buffers (inputs, K/V in flight, float32 accumulators).
    /// <value>Default 8 GiB.</value></summary>
    public long MaxJobMemoryBytes { get; set; } = 8L << 30;

    /// <summary>The smallest <see cref="MaxJobMemoryBytes"/> accepted (1 MiB).</summary>
    public const long MinJobMemoryBytes = 1 << 20;

    /// <summary>How long a shard waits for the next K/V block before it fails the job.
    /// <value>Default 10 minutes.</value></summary>
    public TimeSpan StepTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Host memory a silo lends to the jobs running on it at once; a job waits in the admission queue
    /// until its share fits. <value>Default 0: 60% of the memory the process may use.</value></summary>
    public long SiloMemoryBytes { get; set; }

    public long EffectiveSiloMemoryBytes => SiloMemoryBytes > 0
        ? SiloMemoryBytes
        : (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.6);

    /// <summary>Runs of the ring a job may use: a lost silo or a failed shard starts the next attempt.
    /// <value>Default 3.</value></summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How often a running job's coordinator checks that every shard's silo is still alive.
    /// <value>Default 1 second.</value></summary>
    public TimeSpan HealthCheckPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Blocks between silo processes of one host go device to device (CUDA IPC) where the devices allow it; false
    /// sends them over the data plane, as between hosts (to measure that path on one machine). <value>Default true.</value>
    /// </summary>
    public bool ProcessHandoff { get; set; } = true;

    /// <summary>Threads the CPU backend may use. <value>Default: every core.</value></summary>
    public int ComputeThreads { get; set; } = Environment.ProcessorCount;

    /// <summary>Size of the reused host buffers through which a device-resident shard streams its inputs to the
    /// device and its output back to the file (two per direction, so reading chunk j+1 overlaps copying chunk j).
    /// <value>Default 64 MiB.</value></summary>
    public int StagingBufferBytes { get; set; } = 64 << 20;

    /// <summary>Directories that job inputs and outputs must lie in (after resolving "..").
    /// <value>Default empty: any path the silo can read or write.</value></summary>
    public List<string> AllowedRoots { get; set; } = [];

    /// <summary>
    /// Where sessions keep their manifests and K/V segments (a directory every silo shares, like the jobs' files): a
    /// session's pages are rebuilt from it when a shard re-activates elsewhere. <value>Default null: no sessions.</value>
    /// </summary>
    public string? SessionRoot { get; set; }

    /// <summary>Bytes of K/V pages each compute device lends to sessions (the page pool every session's shards on the
    /// device share). <value>Default 0: half of an accelerator's memory, or a quarter of <see cref="EffectiveSiloMemoryBytes"/> on the CPU.</value></summary>
    public long SessionMemoryBytes { get; set; }

    /// <summary>A session shard idle this long gives its pages back to the pool (it reloads from the session's segments
    /// on its next call). <value>Default 30 minutes.</value></summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Query rows up to which a session attend asks every shard at once and merges their partials along the
    /// tree at the session grain, instead of sending the attend down the tree (ADR 31). <value>Default 64; 0: always
    /// the tree.</value></summary>
    public int SessionFlatMostRows { get; set; } = 64;
}

/// <summary>Names the field and the rule, at start-up, before a silo accepts work.</summary>
public sealed class RingAttentionOptionsValidator : IValidateOptions<RingAttentionOptions>
{
    public ValidateOptionsResult Validate(string? name, RingAttentionOptions options)
    {
        var failures = new List<string>();
        if (options.MaxJobMemoryBytes < RingAttentionOptions.MinJobMemoryBytes)
        {
            failures.Add($"{nameof(RingAttentionOptions.MaxJobMemoryBytes)} ({options.MaxJobMemoryBytes}) must be at least 1 MiB");
        }

        if (options.StepTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(RingAttentionOptions.StepTimeout)} ({options.StepTimeout}) must be positive");
        }

        if (options.MaxAttempts < 1)
        {
            failures.Add($"{nameof(RingAttentionOptions.MaxAttempts)} ({options.MaxAttempts}) must be at least 1");
        }

        if (options.HealthCheckPeriod <= TimeSpan.Zero)
        {
            failures.Add($"{nameof(RingAttentionOptions.HealthCheckPeriod)} ({options.HealthCheckPeriod}) must be positive");
        }

        if (options.ComputeThreads < 1)
        {
            failures.Add($"{nameof(RingAttentionOptions.ComputeThreads)} ({options.ComputeThreads}) must be at least 1");
        }

        if (options.StagingBufferBytes < 1024)
        {
            failures.Add($"{nameof(RingAttentionOptions.StagingBufferBytes)} ({options.StagingBufferBytes}) must be at least 1 KiB");
        }

        if (options.SessionMemoryBytes < 0)
        {
            failures.Add($"{nameof(RingAttentionOptions.SessionMemoryBytes)} ({options.SessionMemoryBytes}) must not be negative");
        }

        if (options.SessionFlatMostRows < 0)
        {
            failures.Add($"{nameof(RingAttentionOptions.SessionFlatMostRows)} ({options.SessionFlatMostRows}) must not be negative");
        }

        if (options.SessionIdleTimeout < TimeSpan.FromMinutes(1))
        {
            failures.Add($"{nameof(RingAttentionOptions.SessionIdleTimeout)} ({options.SessionIdleTimeout}) must be at least a minute");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
