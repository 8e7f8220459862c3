namespace RingAttention.Grains.Devices;

/// <summary>What tells one device apart, as a silo advertises it.</summary>
/// <param name="Name">Name in the silo ("cuda:1", "cpu").</param>
/// <param name="Hardware">The device's own name ("NVIDIA H200").</param>
/// <param name="MemoryBytes">Its memory (null: the host's).</param>
/// <param name="FreeBytes">Free memory when the silo started.</param>
/// <param name="PciBusId">Its PCI address ("0000:19:00.0"), for matching nvidia-smi.</param>
public sealed record DeviceFacts(string Name, string Hardware, long? MemoryBytes, long? FreeBytes, string? PciBusId)
{
    /// <summary>"name|hardware|memory|free|pci|host", the metadata value.</summary>
    public string ToMetadata(string host) => string.Join('|', Name, Hardware, MemoryBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "",
        FreeBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", PciBusId ?? "", host);
}
