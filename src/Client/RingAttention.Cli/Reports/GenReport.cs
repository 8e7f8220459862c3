namespace RingAttention.Cli.Reports;

/// <summary><c>gen --json</c>: the file written and its shape.</summary>
public sealed record GenReport(string Output, int Tokens, int Heads, int KvHeads, int HeadDim, string DType, long Seed, long Bytes);
