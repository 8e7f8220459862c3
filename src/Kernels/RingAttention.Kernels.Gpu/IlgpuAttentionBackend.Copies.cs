using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace RingAttention.Kernels.Gpu;

/// <summary>Copies between the host and an ILGPU backend's handles, another device's, or another process's (the copy half
/// of <see cref="IAttentionBackend"/>).</summary>
public abstract partial class IlgpuAttentionBackend
{
    /// <summary>On the backend's copy stream, so that it runs beside a kernel on the default stream (see the interface).</summary>
    public unsafe void CopyToDevice(DeviceHandle target, long byteOffset, ReadOnlySpan<byte> source)
    {
        var buffer = BytesOf(target, byteOffset, source.Length, nameof(target));
        if (source.Length > 0)
        {
            // Pinned until the copy has finished: ILGPU takes the address as it is ("the base address of the pinned
            // CPU buffer"), and a garbage collection that moved an unpinned array mid-copy read other bytes (a rare
            // CI failure under parallel test load).
            var stream = CopyStream;
            fixed (byte* pinned = source)
            {
                buffer.View.AsContiguous().SubView(byteOffset, source.Length).CopyFromCPU(stream, ref *pinned, source.Length);
                stream.Synchronize();
            }
        }
    }

    /// <summary>
    /// On the backend's copy stream, so that it runs beside a kernel on the default stream (see the interface). Every
    /// download passes through two page-locked buffers of <see cref="StagingBytes"/>, piece by piece: the next piece
    /// crosses PCIe while the host copies the last one on (in parallel when it is large). Copies straight into pageable
    /// memory, which the driver stages itself, ran at 1.4-2 GB/s on nvidia-h200: a 4096-row attend spent 264-374 of its
    /// 478-523 ms downloading eight 64 MiB partials (bench/NOTES.md v20).
    /// </summary>
    public unsafe void CopyFromDevice(DeviceHandle source, long byteOffset, Span<byte> destination)
    {
        var buffer = BytesOf(source, byteOffset, destination.Length, nameof(source));
        if (destination.Length == 0)
        {
            return;
        }

        var view = buffer.View.AsContiguous().SubView(byteOffset, destination.Length);
        var stream = CopyStream;
        lock (_stagingGate)
        {
            _staging ??= [Accelerator.AllocatePageLocked1D<byte>(StagingBytes), Accelerator.AllocatePageLocked1D<byte>(StagingBytes)];
            int total = destination.Length;
            int pieces = (int)((total + (long)StagingBytes - 1) / StagingBytes);
            int Length(int piece) => (int)Math.Min(StagingBytes, total - ((long)piece * StagingBytes));
            var staging = _staging;
            void Issue(int piece) =>
                view.SubView((long)piece * StagingBytes, Length(piece)).CopyToCPU(stream, ref staging[piece % 2].Span[0], Length(piece));

            Issue(0);
            fixed (byte* target = destination)
            {
                for (int piece = 0; piece < pieces; piece++)
                {
                    stream.Synchronize();
                    if (piece + 1 < pieces)
                    {
                        // The next piece into the other buffer (the host emptied it one piece ago), while this one is copied on.
                        Issue(piece + 1);
                    }

                    fixed (byte* staged = staging[piece % 2].Span)
                    {
                        HostCopy.Copy(staged, target + ((long)piece * StagingBytes), Length(piece));
                    }
                }
            }
        }
    }

    /// <summary>
    /// From a handle of another ILGPU backend whose accelerator this one has peer access to (<see cref="PeerAccess"/>):
    /// a device-to-device copy on this backend's copy stream; from host memory: an upload.
    /// </summary>
    public bool TryCopyFromPeer(DeviceHandle target, DeviceHandle source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var into = Own<IByteHandle>(target, nameof(target));
        OperandCheck.Range(target, 0, source.DataBytes, nameof(source));
        if (source.HostMemory is { } host)
        {
            CopyToDevice(target, 0, host.Span[..checked((int)source.DataBytes)]);
            return true;
        }

        if (source is not IByteHandle from || source.IsDisposed
            || !(ReferenceEquals(from.Owner, this) || Accelerator.HasPeerAccess(from.Owner.Accelerator)))
        {
            return false;
        }

        if (source.DataBytes > 0)
        {
            var stream = CopyStream;
            using var binding = Accelerator.BindScoped();
            into.Buffer.View.AsContiguous().SubView(0, source.DataBytes).CopyFrom(stream, from.Buffer.View.AsContiguous().SubView(0, source.DataBytes));
            stream.Synchronize();
        }

        return true;
    }

    /// <summary>CUDA IPC handle of the handle's pooled allocation (each is one cuMemAlloc, starting at the data); null off CUDA.</summary>
    public byte[]? ExportForProcess(DeviceHandle handle)
    {
        var own = Own<IByteHandle>(handle, nameof(handle));
        if (Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator)
        {
            return null;
        }

        using var binding = Accelerator.BindScoped();
        return CudaDriver.IpcHandle(own.Buffer.NativePtr);
    }

    /// <summary>Opens the exporter's allocation in this accelerator's context and copies on the copy stream; false on any CUDA error.</summary>
    public bool TryCopyFromProcess(DeviceHandle target, byte[] exported, long bytes)
    {
        var into = Own<IByteHandle>(target, nameof(target));
        OperandCheck.Range(target, 0, bytes, nameof(bytes));
        if (Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator || CopyStream is not ILGPU.Runtime.Cuda.CudaStream stream)
        {
            return false;
        }

        using var binding = Accelerator.BindScoped();
        return bytes == 0 || CudaDriver.CopyFromIpc(exported, into.Buffer.NativePtr, bytes, stream.StreamPtr) == 0;
    }

    public IDisposable PageLock<T>(T[] pinnedArray)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(pinnedArray);
        using var binding = Accelerator.BindScoped();
        return Accelerator.CreatePageLockFromPinned(pinnedArray);
    }

    private MemoryBuffer1D<byte, Stride1D.Dense> BytesOf(DeviceHandle handle, long offset, long length, string name)
    {
        var buffer = Own<IByteHandle>(handle, name).Buffer;
        OperandCheck.Range(handle, offset, length, nameof(offset));
        return buffer;
    }
}
