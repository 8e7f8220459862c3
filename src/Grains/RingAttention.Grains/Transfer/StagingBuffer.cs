using RingAttention.Grains.Devices;

namespace RingAttention.Grains.Transfer;

/// <summary>
/// A reused host buffer that shard data streams through on its way to or from the device: pinned and page-locked
/// when the device's memory is not the host's (copies run as direct DMA), a plain array otherwise. Dispose to unlock.
/// </summary>
public sealed class StagingBuffer<T> : IDisposable
    where T : unmanaged
{
    private readonly IDisposable? _lock;

    private StagingBuffer(T[] array, IDisposable? pageLock)
    {
        Array = array;
        _lock = pageLock;
    }

    public T[] Array { get; }

    public bool PageLocked => _lock is not null;

    public static StagingBuffer<T> Allocate(ComputeDevice? device, int length)
    {
        if (device?.MemoryBytes is null || length == 0)
        {
            return new StagingBuffer<T>(new T[length], null);
        }

        var array = GC.AllocateUninitializedArray<T>(length, pinned: true);
        try
        {
            return new StagingBuffer<T>(array, device.Backend.PageLock(array));
        }
        catch (Exception)
        {
            // Page-locking is an optimisation: a device that refuses it still copies from a pinned array.
            return new StagingBuffer<T>(array, null);
        }
    }

    public void Dispose() => _lock?.Dispose();
}
