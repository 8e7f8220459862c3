namespace RingAttention.Kernels.Gpu;

/// <summary>A request does not fit in the device's free memory; says how much it needs and how much is free.</summary>
public sealed class DeviceMemoryException : InvalidOperationException
{
    public DeviceMemoryException(string device, long neededBytes, long freeBytes, string what)
        : base($"{device}: {what} needs {neededBytes:N0} more bytes of device memory but only {freeBytes:N0} are free")
    {
        NeededBytes = neededBytes;
        FreeBytes = freeBytes;
    }

    public long NeededBytes { get; }

    public long FreeBytes { get; }
}
