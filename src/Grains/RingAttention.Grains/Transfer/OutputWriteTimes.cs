namespace RingAttention.Grains.Transfer;

/// <summary>
/// Where a shard's output write spent its time (the silo log carries it per shard): o through the pump (start to its
/// last piece), within it the device downloads and the conversions into the file's pages (the two overlap), and the
/// whole write with lse.
/// </summary>
public readonly record struct OutputWriteTimes(double PumpSeconds, double DownloadSeconds, double StoreSeconds, double TotalSeconds);
