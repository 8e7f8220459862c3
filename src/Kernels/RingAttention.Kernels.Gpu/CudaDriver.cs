using System.Runtime.InteropServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>The two CUDA driver calls ILGPU 1.5.3 does not make: raising a kernel's dynamic shared memory limit and reading its resources.</summary>
internal static partial class CudaDriver
{
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

    [LibraryImport(Library)]
    private static partial int cuFuncSetAttribute(IntPtr function, int attribute, int value);

    [LibraryImport(Library)]
    private static partial int cuFuncGetAttribute(out int value, int attribute, IntPtr function);
}
