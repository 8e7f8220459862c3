using ILGPU;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// One ILGPU context shared by the backends of several devices (peer access is between accelerators of one context):
/// the last backend to be disposed disposes it.
/// </summary>
internal sealed class ContextLease(Context context, int holders)
{
    private int _holders = holders;

    public Context Context => context;

    public void Release()
    {
        if (Interlocked.Decrement(ref _holders) == 0)
        {
            context.Dispose();
        }
    }
}
