namespace RingAttention.Contracts;

/// <summary>
/// Control-plane message on a ring edge's stream: "the K/V block you need for step <see cref="Step"/> is ready; here is
/// where to get it". The bytes never travel in this event (memory streams drop events over about 1 MiB).
/// </summary>
[GenerateSerializer]
[Immutable]
[Alias("RingAttention.BlockAnnouncement")]
public sealed record BlockAnnouncement
{
    [Id(0)] public string JobId { get; init; } = "";

    [Id(1)] public long Attempt { get; init; }

    /// <summary>Ring step at which the receiver computes on this block.</summary>
    [Id(2)] public int Step { get; init; }

    /// <summary>Shard whose K/V rows the block holds.</summary>
    [Id(3)] public int Owner { get; init; }

    /// <summary>Key of the block in the sender silo's block store.</summary>
    [Id(4)] public string BlockKey { get; init; } = "";

    /// <summary>Total bytes of K and V.</summary>
    [Id(5)] public long Bytes { get; init; }

    /// <summary>CRC-32C of K's bytes followed by V's bytes.</summary>
    [Id(6)] public uint Checksum { get; init; }

    /// <summary>Silo that holds the block: the receiver takes it without a copy when it runs on the same silo.</summary>
    [Id(7)] public string SiloId { get; init; } = "";

    /// <summary>host:port of the sender silo's data-plane listener.</summary>
    [Id(8)] public string DataEndpoint { get; init; } = "";

    /// <summary>
    /// The sender's process ("host/boot id/pid"): a receiver in another process of the same host may copy the block
    /// device to device with <see cref="ProcessHandle"/> instead of fetching it over the data plane.
    /// </summary>
    [Id(9)] public string Process { get; init; } = "";

    /// <summary>The block's device memory exported for other processes of the host (CUDA IPC), or null.</summary>
    [Id(10)] public byte[]? ProcessHandle { get; init; }
}
