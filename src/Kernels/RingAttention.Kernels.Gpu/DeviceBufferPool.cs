using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using RingAttention.Attention;
using RingAttention.Tensors;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Device buffers of the resident handles, pooled by (rounded) size: a disposed handle's buffer waits for the next
/// handle of its size, so a ring whose blocks all have about the same size allocates only in its first steps. The
/// pool is emptied when no handle is alive (the end of a job) and when the backend is disposed. Growth checks free
/// memory first and throws <see cref="DeviceMemoryException"/> with needed and free bytes.
/// </summary>
/// <param name="freeBytes">Free-memory probe (tests); default: the CUDA driver's, or the accelerator's size minus what the pool holds.</param>
internal sealed class DeviceBufferPool(Accelerator accelerator, Func<long>? freeBytes = null) : IDisposable
{
    private readonly Dictionary<long, Stack<MemoryBuffer1D<byte, Stride1D.Dense>>> _free = new();
    private readonly object _gate = new();
    private long _liveBytes;
    private long _pooledBytes;
    private int _live;
    private bool _disposed;

    /// <summary>Bytes of live handles.</summary>
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>Bytes of idle pooled buffers.</summary>
    public long PooledBytes => Interlocked.Read(ref _pooledBytes);

    /// <summary>Buffers allocated from the device since creation (tests: a steady ring stops allocating).</summary>
    public int Allocations { get; private set; }

    /// <summary>Size class: 4 KiB granularity up to 2 MiB, 2 MiB above (shards of uneven token counts share buffers).</summary>
    public static long Round(long bytes)
    {
        bytes = Math.Max(bytes, 16);
        long unit = bytes <= (2 << 20) ? 4096 : 2 << 20;
        return (bytes + unit - 1) / unit * unit;
    }

    public MemoryBuffer1D<byte, Stride1D.Dense> Rent(long bytes, string what)
    {
        long size = Round(bytes);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _live++;
            _liveBytes += size;
            if (_free.TryGetValue(size, out var stack) && stack.Count > 0)
            {
                _pooledBytes -= size;
                return stack.Pop();
            }

            // Idle buffers of other sizes go first, so the pool never stands between a job and the device's memory.
            long free = FreeBytes(size);
            if (size > free && _pooledBytes > 0)
            {
                DropPooled();
                free = FreeBytes(size);
            }

            if (size > free)
            {
                _live--;
                _liveBytes -= size;
                throw new DeviceMemoryException(accelerator.Name, size, free, what);
            }

            Allocations++;
            using var binding = accelerator.BindScoped();
            return accelerator.Allocate1D<byte>(size);
        }
    }

    /// <summary>Free device memory, not counting <paramref name="requested"/> (already added to the live bytes).</summary>
    private long FreeBytes(long requested) =>
        freeBytes?.Invoke()
        ?? (accelerator is CudaAccelerator cuda ? cuda.GetFreeMemory() : accelerator.MemorySize - (_liveBytes - requested) - _pooledBytes);

    public void Return(MemoryBuffer1D<byte, Stride1D.Dense> buffer)
    {
        lock (_gate)
        {
            _live--;
            _liveBytes -= buffer.Length;
            if (_disposed)
            {
                using var binding = accelerator.BindScoped();
                buffer.Dispose();
                return;
            }

            if (!_free.TryGetValue(buffer.Length, out var stack))
            {
                _free[buffer.Length] = stack = new Stack<MemoryBuffer1D<byte, Stride1D.Dense>>();
            }

            stack.Push(buffer);
            _pooledBytes += buffer.Length;
            if (_live == 0)
            {
                DropPooled();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            DropPooled();
        }
    }

    /// <summary>Frees the idle buffers (callers may be on any thread, so the accelerator is bound for the frees).</summary>
    private void DropPooled()
    {
        if (_pooledBytes == 0)
        {
            return;
        }

        using var binding = accelerator.BindScoped();
        foreach (var stack in _free.Values)
        {
            while (stack.Count > 0)
            {
                stack.Pop().Dispose();
            }
        }

        _free.Clear();
        _pooledBytes = 0;
    }
}
