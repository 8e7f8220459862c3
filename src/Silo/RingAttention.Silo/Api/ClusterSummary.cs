namespace RingAttention.Silo.Api;

/// <summary>What <c>GET /v1/cluster</c> answers: the active silos with their devices and memory.</summary>
public sealed record ClusterSummary(IReadOnlyList<SiloSummary> Silos);

/// <param name="Address">The silo's address.</param>
/// <param name="MemoryUsedBytes">The silo process's memory in use (Orleans' runtime statistics).</param>
/// <param name="MemoryAvailableBytes">Memory the host has available.</param>
/// <param name="CpuPercent">The silo's CPU use.</param>
/// <param name="Activations">Grains active on it (shards, coordinators, sessions).</param>
public sealed record SiloSummary(string Address, long MemoryUsedBytes, long MemoryAvailableBytes, double CpuPercent, int Activations,
    IReadOnlyList<DeviceSummary> Devices);

/// <param name="Name">Its name in the silo ("cuda:0", "cpu").</param>
/// <param name="Hardware">The device's own name ("NVIDIA H200"); empty when the silo did not say.</param>
/// <param name="MemoryBytes">Device memory; null for a CPU device (host memory).</param>
/// <param name="FreeBytesAtStart">Free device memory when the silo started.</param>
public sealed record DeviceSummary(string Name, string Hardware, long? MemoryBytes, long? FreeBytesAtStart);
