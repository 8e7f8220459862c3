namespace RingAttention.Contracts;

/// <summary>Counters of one shard's ring work (or their sum over a job; <see cref="RingSeconds"/> their maximum).</summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.RingTotals")]
public sealed record RingTotals
{
    /// <summary>Seconds spent inside the attention kernel (not counting the wait for a device shared with other shards).</summary>
    [Id(0)] public double ComputeSeconds { get; init; }

    /// <summary>Seconds spent waiting for the next K/V block after the kernel finished (exposed communication).</summary>
    [Id(1)] public double WaitSeconds { get; init; }

    /// <summary>K/V bytes received over the cross-silo data plane.</summary>
    [Id(2)] public long BytesMoved { get; init; }

    /// <summary>K/V blocks handed over in-process without a copy.</summary>
    [Id(3)] public int LocalHandoffs { get; init; }

    /// <summary>K/V blocks received over the data plane.</summary>
    [Id(4)] public int RemoteTransfers { get; init; }

    /// <summary>Seconds spent reading this shard's inputs.</summary>
    [Id(5)] public double LoadSeconds { get; init; }

    /// <summary>Seconds spent writing this shard's rows of the output (downloading them first where they live on a device).</summary>
    [Id(6)] public double WriteSeconds { get; init; }

    /// <summary>K/V blocks copied device to device between two devices of one silo (peer access: NVLink or PCIe).</summary>
    [Id(7)] public int PeerCopies { get; init; }

    /// <summary>Bytes of those device-to-device copies.</summary>
    [Id(8)] public long PeerBytes { get; init; }

    /// <summary>K/V blocks between two devices of one silo that could not reach each other, staged through host memory.</summary>
    [Id(9)] public int StagedCopies { get; init; }

    /// <summary>
    /// Seconds from a shard's first ring step to the end of its last kernel: the attention phase. Combined by maximum
    /// (the ring ends with its slowest shard), not summed.
    /// </summary>
    [Id(10)] public double RingSeconds { get; init; }

    /// <summary>K/V blocks copied device to device from another process of the host (CUDA IPC).</summary>
    [Id(11)] public int ProcessCopies { get; init; }

    /// <summary>Bytes of those copies.</summary>
    [Id(12)] public long ProcessBytes { get; init; }

    /// <summary>
    /// When the ring began (UTC <see cref="DateTime.Ticks"/> on the shard's silo clock): the latest of the shards'
    /// first steps, since a ring runs only once every shard holds its inputs. 0 until a shard starts its ring.
    /// </summary>
    [Id(13)] public long RingStartTicks { get; init; }

    /// <summary>When the ring ended (UTC ticks): the latest end of a shard's last kernel. 0 until one ends.</summary>
    [Id(14)] public long RingEndTicks { get; init; }

    /// <summary>Linear attention: bytes of the states this shard sent (S and z, O(heads · D²) each, whatever T).</summary>
    [Id(15)] public long StateBytes { get; init; }

    /// <summary>Linear attention: states this shard sent.</summary>
    [Id(16)] public int StatesSent { get; init; }

    public static RingTotals Zero { get; } = new();

    public RingTotals Add(RingTotals other) => new()
    {
        ComputeSeconds = ComputeSeconds + other.ComputeSeconds,
        WaitSeconds = WaitSeconds + other.WaitSeconds,
        BytesMoved = BytesMoved + other.BytesMoved,
        LocalHandoffs = LocalHandoffs + other.LocalHandoffs,
        RemoteTransfers = RemoteTransfers + other.RemoteTransfers,
        LoadSeconds = LoadSeconds + other.LoadSeconds,
        WriteSeconds = WriteSeconds + other.WriteSeconds,
        PeerCopies = PeerCopies + other.PeerCopies,
        PeerBytes = PeerBytes + other.PeerBytes,
        StagedCopies = StagedCopies + other.StagedCopies,
        RingSeconds = Math.Max(RingSeconds, other.RingSeconds),
        ProcessCopies = ProcessCopies + other.ProcessCopies,
        ProcessBytes = ProcessBytes + other.ProcessBytes,
        RingStartTicks = Math.Max(RingStartTicks, other.RingStartTicks),
        RingEndTicks = Math.Max(RingEndTicks, other.RingEndTicks),
        StateBytes = StateBytes + other.StateBytes,
        StatesSent = StatesSent + other.StatesSent,
    };
}
