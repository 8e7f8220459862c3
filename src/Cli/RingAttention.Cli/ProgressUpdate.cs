namespace RingAttention.Cli;

/// <summary>Where a long piece of work stands.</summary>
/// <param name="Stage">What it is doing now ("running", "queued for memory: ...", "retrying: ..."); a new stage is
/// printed as its own line when no one watches a terminal.</param>
/// <param name="Detail">Changes often (a rate); shown on a terminal only.</param>
public readonly record struct ProgressUpdate(double Done, double Total, string Stage, string? Detail = null);
