using System.Runtime.InteropServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// The CUDA driver calls ILGPU 1.5.3 does not make: raising a kernel's dynamic shared memory limit, reading its
/// resources, loading and launching the generated PTX modules (WarpSpecializedKernel), and CUDA IPC (sharing a device allocation with another process of the host).
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

    /// <summary>
    /// Loads a PTX module into the current context (the driver compiles it for the device) and returns the function
    /// <paramref name="entry"/>; a compile error comes back with the driver's log.
    /// </summary>
    public static (IntPtr Module, IntPtr Function) LoadPtx(string ptx, string entry)
    {
        byte[] image = System.Text.Encoding.ASCII.GetBytes(ptx + "\0");
        const int LogBytes = 16384;
        byte* log = stackalloc byte[LogBytes];
        log[0] = 0;
        int* options = stackalloc int[2] { JitErrorLogBuffer, JitErrorLogBufferBytes };
        void** values = stackalloc void*[2] { log, (void*)LogBytes };
        IntPtr module;
        int rc;
        fixed (byte* text = image)
        {
            rc = cuModuleLoadDataEx(&module, text, 2, options, values);
        }

        if (rc != 0)
        {
            throw new InvalidOperationException($"cuModuleLoadDataEx({entry}) failed with CUDA error {rc}: {Marshal.PtrToStringAnsi((IntPtr)log)}");
        }

        IntPtr function;
        rc = cuModuleGetFunction(&function, module, entry);
        if (rc != 0)
        {
            _ = cuModuleUnload(module);
            throw new InvalidOperationException($"cuModuleGetFunction({entry}) failed with CUDA error {rc}");
        }

        return (module, function);
    }

    public static void Unload(IntPtr module) => _ = cuModuleUnload(module);

    /// <summary>cuLaunchKernel with kernel parameters given as pointers to their values (copied at the call).</summary>
    public static void Launch(IntPtr function, int gridX, int gridY, int threads, int sharedBytes, IntPtr stream, void** args)
    {
        int rc = cuLaunchKernel(function, (uint)gridX, (uint)gridY, 1, (uint)threads, 1, 1, (uint)sharedBytes, stream, args, null);
        if (rc != 0)
        {
            throw new InvalidOperationException($"cuLaunchKernel failed with CUDA error {rc} (grid {gridX} x {gridY}, {threads} threads, {sharedBytes} B shared)");
        }
    }

    private const int JitErrorLogBuffer = 5;       // CU_JIT_ERROR_LOG_BUFFER
    private const int JitErrorLogBufferBytes = 6;  // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES

    [LibraryImport(Library)]
    private static partial int cuModuleLoadDataEx(IntPtr* module, byte* image, uint options, int* optionKeys, void** optionValues);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int cuModuleGetFunction(IntPtr* function, IntPtr module, string name);

    [LibraryImport(Library)]
    private static partial int cuModuleUnload(IntPtr module);

    [LibraryImport(Library)]
    private static partial int cuLaunchKernel(IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ, uint sharedBytes, IntPtr stream, void** args, void** extra);

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
