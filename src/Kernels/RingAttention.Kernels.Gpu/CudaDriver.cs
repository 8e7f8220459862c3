using System.Runtime.InteropServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The CUDA driver calls ILGPU 1.5.3 does not make: raising a kernel's dynamic shared memory limit, reading its
/// resources, and CUDA IPC (sharing a device allocation with another process of the host).
/// </summary>
internal static unsafe partial class CudaDriver
{
    /// <summary>Bytes of a CUipcMemHandle.</summary>
    public const int IpcHandleBytes = 64;

    /// <summary>CU_IPC_MEM_LAZY_ENABLE_PEER_ACCESS: the importer may sit on another device of the host.</summary>
    private const uint LazyEnablePeerAccess = 1;

    /// <summary>CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.</summary>
    public const int MaxDynamicSharedBytes = 8;

    /// <summary>CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES: stack frame per thread (0 = no spills, no local arrays).</summary>
    public const int LocalSizeBytes = 3;

    /// <summary>CU_FUNC_ATTRIBUTE_NUM_REGS.</summary>
    public const int NumRegs = 4;

    private const string Library = "libcuda.so.1";

    public static void SetAttribute(IntPtr function, int attribute, int value)
    {
        int rc = cuFuncSetAttribute(function, attribute, value);
        if (rc != 0)
        {
            throw new InvalidOperationException($"cuFuncSetAttribute({attribute}, {value}) failed with CUDA error {rc}");
        }
    }

    public static int GetAttribute(IntPtr function, int attribute)
    {
        int rc = cuFuncGetAttribute(out int value, attribute, function);
        return rc == 0 ? value : -1;
    }

    /// <summary>The IPC handle of the allocation that starts at <paramref name="devicePointer"/> (the current context's).</summary>
    public static byte[] IpcHandle(IntPtr devicePointer)
    {
        var handle = new IpcMemHandle();
        int rc = cuIpcGetMemHandle(&handle, (ulong)devicePointer);
        if (rc != 0)
        {
            throw new InvalidOperationException($"cuIpcGetMemHandle failed with CUDA error {rc}");
        }

        return new ReadOnlySpan<byte>(&handle, IpcHandleBytes).ToArray();
    }

    /// <summary>
    /// Opens another process's allocation in the current context, copies <paramref name="bytes"/> of it into
    /// <paramref name="target"/> on <paramref name="stream"/>, waits, and closes it; the CUDA error code, 0 when copied.
    /// </summary>
    public static int CopyFromIpc(ReadOnlySpan<byte> exported, IntPtr target, long bytes, IntPtr stream)
    {
        if (exported.Length != IpcHandleBytes)
        {
            return 1; // CUDA_ERROR_INVALID_VALUE
        }

        var handle = new IpcMemHandle();
        exported.CopyTo(new Span<byte>(&handle, IpcHandleBytes));
        int rc = cuIpcOpenMemHandle_v2(out ulong source, handle, LazyEnablePeerAccess);
        if (rc != 0)
        {
            return rc;
        }

        rc = cuMemcpyDtoDAsync_v2((ulong)target, source, (nuint)bytes, stream);
        if (rc == 0)
        {
            rc = cuStreamSynchronize(stream);
        }

        int closed = cuIpcCloseMemHandle(source);
        return rc != 0 ? rc : closed;
    }

    [System.Runtime.CompilerServices.InlineArray(IpcHandleBytes)]
    private struct IpcMemHandle
    {
        private byte _first;
    }

    [LibraryImport(Library)]
    private static partial int cuIpcGetMemHandle(IpcMemHandle* handle, ulong devicePointer);

    [LibraryImport(Library)]
    private static partial int cuIpcOpenMemHandle_v2(out ulong devicePointer, IpcMemHandle handle, uint flags);

    [LibraryImport(Library)]
    private static partial int cuIpcCloseMemHandle(ulong devicePointer);

    [LibraryImport(Library)]
    private static partial int cuMemcpyDtoDAsync_v2(ulong target, ulong source, nuint bytes, IntPtr stream);

    [LibraryImport(Library)]
    private static partial int cuStreamSynchronize(IntPtr stream);

    [LibraryImport(Library)]
    private static partial int cuFuncSetAttribute(IntPtr function, int attribute, int value);

    [LibraryImport(Library)]
    private static partial int cuFuncGetAttribute(out int value, int attribute, IntPtr function);
}
