namespace RingAttention.Cli.Reports;

/// <summary><c>gen --json</c>: the file written and its shape.</summary>
public sealed record GenReport(string Output, int Tokens, int Heads, int KvHeads, int HeadDim, string Dtype, long Seed, long Bytes);
