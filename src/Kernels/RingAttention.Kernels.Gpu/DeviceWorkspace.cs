using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Device buffers reused across calls (ring steps): q, k, v as raw bytes, o and lse in float32. They only grow,
/// so steady-state calls of the same shape allocate nothing; growth checks free memory first and throws
/// <see cref="DeviceMemoryException"/> with needed and free bytes.
/// </summary>
internal sealed class DeviceWorkspace : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly Func<long>? _freeBytes;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _q;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _k;
    private MemoryBuffer1D<byte, Stride1D.Dense>? _v;
    private MemoryBuffer1D<float, Stride1D.Dense>? _o;
    private MemoryBuffer1D<float, Stride1D.Dense>? _lse;

    /// <param name="accelerator">Where the buffers live.</param>
    /// <param name="freeBytes">Free-memory probe (tests); default: the CUDA driver's, or the accelerator size minus what this holds.</param>
    public DeviceWorkspace(Accelerator accelerator, Func<long>? freeBytes = null)
    {
        _accelerator = accelerator;
        _freeBytes = freeBytes;
    }

    public MemoryBuffer1D<byte, Stride1D.Dense> Q => _q ?? throw new InvalidOperationException("workspace not sized");

    public MemoryBuffer1D<byte, Stride1D.Dense> K => _k ?? throw new InvalidOperationException("workspace not sized");

    public MemoryBuffer1D<byte, Stride1D.Dense> V => _v ?? throw new InvalidOperationException("workspace not sized");

    public MemoryBuffer1D<float, Stride1D.Dense> O => _o ?? throw new InvalidOperationException("workspace not sized");

    public MemoryBuffer1D<float, Stride1D.Dense> Lse => _lse ?? throw new InvalidOperationException("workspace not sized");

    /// <summary>Bytes currently held on the device.</summary>
    public long HeldBytes => Size(_q) + Size(_k) + Size(_v) + (4 * (Count(_o) + Count(_lse)));

    /// <summary>Makes every buffer at least as large as asked (at least one element, so views are never empty).</summary>
    public void Ensure(long qBytes, long kBytes, long vBytes, long oFloats, long lseFloats)
    {
        qBytes = Math.Max(qBytes, 16);
        kBytes = Math.Max(kBytes, 16);
        vBytes = Math.Max(vBytes, 16);
        oFloats = Math.Max(oFloats, 4);
        lseFloats = Math.Max(lseFloats, 4);
        long extra = Grow(_q, qBytes) + Grow(_k, kBytes) + Grow(_v, vBytes) + (4 * (GrowF(_o, oFloats) + GrowF(_lse, lseFloats)));
        if (extra == 0)
        {
            return;
        }

        long free = _freeBytes?.Invoke() ?? (_accelerator is CudaAccelerator cuda ? cuda.GetFreeMemory() : _accelerator.MemorySize - HeldBytes);
        if (extra > free)
        {
            throw new DeviceMemoryException(_accelerator.Name, extra, free, $"attention workspace (q {qBytes:N0} B, k {kBytes:N0} B, v {vBytes:N0} B, o {4 * oFloats:N0} B, lse {4 * lseFloats:N0} B)");
        }

        _q = Replace(_q, qBytes);
        _k = Replace(_k, kBytes);
        _v = Replace(_v, vBytes);
        _o = ReplaceF(_o, oFloats);
        _lse = ReplaceF(_lse, lseFloats);
    }

    public void Dispose()
    {
        _q?.Dispose();
        _k?.Dispose();
        _v?.Dispose();
        _o?.Dispose();
        _lse?.Dispose();
        _q = _k = _v = null;
        _o = _lse = null;
    }

    private static long Size(MemoryBuffer1D<byte, Stride1D.Dense>? b) => b?.Length ?? 0;

    private static long Count(MemoryBuffer1D<float, Stride1D.Dense>? b) => b?.Length ?? 0;

    private static long Grow(MemoryBuffer1D<byte, Stride1D.Dense>? b, long need) => b is null || b.Length < need ? need : 0;

    private static long GrowF(MemoryBuffer1D<float, Stride1D.Dense>? b, long need) => b is null || b.Length < need ? need : 0;

    private MemoryBuffer1D<byte, Stride1D.Dense> Replace(MemoryBuffer1D<byte, Stride1D.Dense>? b, long need)
    {
        if (b is not null && b.Length >= need)
        {
            return b;
        }

        b?.Dispose();
        return _accelerator.Allocate1D<byte>(need);
    }

    private MemoryBuffer1D<float, Stride1D.Dense> ReplaceF(MemoryBuffer1D<float, Stride1D.Dense>? b, long need)
    {
        if (b is not null && b.Length >= need)
        {
            return b;
        }

        b?.Dispose();
        return _accelerator.Allocate1D<float>(need);
    }
}
