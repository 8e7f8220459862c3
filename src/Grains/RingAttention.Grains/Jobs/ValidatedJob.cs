using RingAttention.Attention;

namespace RingAttention.Grains.Jobs;

/// <summary>A job that passed every check of <see cref="JobValidation.Resolve"/>.</summary>
/// <param name="Spec">The spec with its shape filled in from the input file.</param>
/// <param name="Spans">Each shard's token spans (the plan the ring runs).</param>
/// <param name="BytesPerSilo">Host memory the job holds on its busiest silo (what admission reserves).</param>
public sealed record ValidatedJob(JobSpec Spec, IReadOnlyList<IReadOnlyList<TokenSpan>> Spans, long BytesPerSilo);
