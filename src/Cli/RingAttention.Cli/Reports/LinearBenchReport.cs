namespace RingAttention.Cli.Reports;

/// <summary>One configuration of <c>ringattn bench linear</c>: medians over its runs.</summary>
/// <param name="Attention">linear, or softmax for the same shape's softmax job.</param>
/// <param name="AttentionSeconds">From the last shard holding its inputs to the last shard's output computed.</param>
/// <param name="StateBytesPerHop">Bytes of one state message (0 with one shard).</param>
public sealed record LinearPoint(string Attention, int Tokens, int Shards, string Exchange, double WallSeconds, double AttentionSeconds,
    double KernelSeconds, double WaitSeconds, double TokensPerSecond, long StateBytes, int StatesSent, long StateBytesPerHop, IReadOnlyList<double> AttentionRuns);

public sealed record LinearBenchReport(string Cluster, int Heads, int KvHeads, int HeadDim, string DType, float Decay, IReadOnlyList<LinearPoint> Points, string? LogPath);
