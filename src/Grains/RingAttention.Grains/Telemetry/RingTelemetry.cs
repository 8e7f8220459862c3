using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace RingAttention.Grains.Telemetry;

/// <summary>
/// RingAttention's own metrics (meter "RingAttention") and traces (activity source "RingAttention"): jobs by outcome,
/// ring steps, K/V bytes moved between silos, kernel time and the time a shard waited for its next block.
/// </summary>
public static class RingTelemetry
{
    public const string MeterName = "RingAttention";
    public const string ActivitySourceName = "RingAttention";

    public static readonly ActivitySource Activities = new(ActivitySourceName);

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Jobs = Meter.CreateCounter<long>("ringattention.jobs", "{job}", "Jobs that ended, by outcome");

    public static readonly Counter<long> DataPlaneRefusals = Meter.CreateCounter<long>("ringattention.data_plane_refusals", "{request}", "Data-plane requests refused (wrong token, unknown or already served block)");

    public static readonly Counter<long> RingSteps = Meter.CreateCounter<long>("ringattention.ring_steps", "{step}", "Ring steps computed by shards");

    public static readonly Counter<long> QueryTokens = Meter.CreateCounter<long>("ringattention.tokens", "{token}", "Query tokens whose attention completed");

    public static readonly Counter<long> BytesMoved = Meter.CreateCounter<long>("ringattention.kv_bytes_moved", "By", "K/V bytes received over the data plane");

    public static readonly Counter<long> PeerBytes = Meter.CreateCounter<long>("ringattention.kv_bytes_across_devices", "By", "K/V bytes copied between two devices of one silo");

    /// <summary>
    /// Bucket boundaries for every *_seconds histogram: a ring step takes milliseconds (small CPU jobs) to minutes (a 1M
    /// shard on a GPU). The default boundaries (0, 5, 10, 25, ... s) put every step in the first bucket.
    /// </summary>
    private static readonly InstrumentAdvice<double> Seconds = new()
    {
        HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600],
    };

    public static readonly Histogram<double> KernelSeconds = Meter.CreateHistogram<double>("ringattention.kernel_time", "s", "Kernel time per ring step", tags: null, advice: Seconds);

    public static readonly Histogram<double> WaitSeconds = Meter.CreateHistogram<double>("ringattention.step_wait_time", "s", "Time a shard waited for its next K/V block after its kernel", tags: null, advice: Seconds);

    public static readonly Histogram<double> LoadSeconds = Meter.CreateHistogram<double>("ringattention.shard_load_time", "s", "Time a shard took to read its inputs (onto its device, where it has one)", tags: null, advice: Seconds);

    public static readonly Histogram<double> WriteSeconds = Meter.CreateHistogram<double>("ringattention.shard_write_time", "s", "Time a shard took to write its rows of the output", tags: null, advice: Seconds);
}
