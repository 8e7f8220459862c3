using ILGPU.Runtime.Cuda;
using RingAttention.Tensors;
using System.Runtime.InteropServices;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// Loads (lazily, once per variant) and launches the warp-specialized Hopper kernels (ADR 22): PTX written whole by
/// Generator/gen_hopper.py, loaded through the driver rather than ILGPU (which cannot keep a wgmma in flight across
/// statements), launched on the accelerator's default stream with three TMA tensor maps (q, k, v) passed by value.
/// Same contract as the ILGPU kernels (<see cref="FlashParams"/>): one query span against one key span, merged into
/// or written over the float32 O / LSE.
/// </summary>
internal sealed unsafe class WarpSpecializedKernel : IDisposable
{
    private readonly CudaAccelerator _accelerator;
    private readonly Dictionary<WarpSpecializedVariant, (IntPtr Module, IntPtr Function)> _loaded = new();

    public WarpSpecializedKernel(CudaAccelerator accelerator) => _accelerator = accelerator;

    /// <summary>
    /// The .entry's parameters in order, as <see cref="Launch"/> passes them (a test holds every generated kernel to it):
    /// the q, k, v tensor maps, O and LSE by address, the spans and mask of <see cref="FlashParams"/>, the plan, a chunk
    /// table's address (0: none; <see cref="ChunkedTiles"/>); the FP8 kernels then take the descale factors by address
    /// (<see cref="Fp8Parameters"/>, <see cref="Fp8Operands"/>).
    /// </summary>
    internal static readonly string[] Parameters =
    [
        "tq", "tk", "tv", "p_o", "p_lse", "p_qcount", "p_qpos0", "p_qrow", "p_kcount", "p_kpos0", "p_krow", "p_heads", "p_group",
        "p_dmin", "p_dmax", "p_scale", "p_lsestride", "p_merge", "p_heavy", "p_pack", "p_splits", "p_chunks",
    ];

    /// <summary>The FP8 kernels' parameters: <see cref="Parameters"/>, then the q·k and v descale factors' addresses.</summary>
    internal static readonly string[] Fp8Parameters = [.. Parameters, "p_qkd", "p_vd"];

    /// <summary>The variant that serves this dtype and head dim (the short-block one: <paramref name="shortBlocks"/>), or
    /// null (the ILGPU kernels serve it).</summary>
    public static WarpSpecializedVariant? Find(ElementType type, int dim, bool shortBlocks = false) =>
        WarpSpecializedVariants.All.FirstOrDefault(v => v.Serves(type, dim, shortBlocks));

    /// <summary>
    /// Launches <paramref name="variant"/> as <paramref name="plan"/> says; an FP8 one
    /// (<see cref="WarpSpecializedVariant.Fp8"/>) needs <paramref name="fp8"/>. With splits, <paramref name="po"/> and
    /// <paramref name="plse"/> are partial buffers of <c>Splits x KvHeads x QCount·Group</c> rows in
    /// <see cref="DecodeKernel.PartialIndex"/>'s order, written (p.Merge must be 0), for <see cref="DecodeMerge"/>.
    /// With a chunk table (<paramref name="chunks"/>, a device address; short variants), split s is the table's chunk s
    /// (<see cref="ChunkedTiles"/>): p's k/v span and pointers are not read, and the partials are written even for one.
    /// </summary>
    public void Launch(WarpSpecializedVariant variant, FlashParams p, ulong po, ulong plse, WarpSpecializedPlan plan, Fp8Operands? fp8 = null, ulong chunks = 0)
    {
        if (variant.Fp8 != fp8.HasValue)
        {
            throw new ArgumentException(variant.Fp8 ? $"{variant.Entry} reads FP8 operands; none were given" : $"{variant.Entry} takes no FP8 operands", nameof(fp8));
        }

        if (plan.Pack < 1 || !System.Numerics.BitOperations.IsPow2(plan.Pack) || p.Group % plan.Pack != 0 || plan.Pack > variant.BlockRows
            || (fp8.HasValue && plan.Pack != 1) || plan.Splits < 1 || ((plan.Splits > 1 || chunks != 0) && p.Merge != 0)
            || ((plan != WarpSpecializedPlan.Whole || chunks != 0) && !variant.Short))
        {
            throw new ArgumentException($"{variant.Entry} cannot run {plan} for group {p.Group}, merge {p.Merge}", nameof(plan));
        }

        long tiles = plan.Tiles(p.QCount, p.Heads, variant.BlockRows);
        if (tiles == 0)
        {
            return;
        }

        _accelerator.Bind(); // the thread may be any grain's: the driver calls below need this device's context current
        var function = Get(variant);
        // Three maps, each 128 bytes at a 64-byte boundary (the driver's requirement); cuLaunchKernel copies them.
        byte* maps = (byte*)NativeMemory.AlignedAlloc(3 * TensorMap.Bytes, 64);
        NativeMemory.Clear(maps, 3 * TensorMap.Bytes);
        try
        {
            int size = variant.Type.Size();
            if (variant.Short)
            {
                TensorMap.EncodePackedRows(maps, p.QPtr, size, p.Heads, plan.Pack, p.HeadDim, (long)p.QRowOffset + p.QCount, variant.BlockRows);
            }
            else
            {
                TensorMap.EncodeRows(maps, p.QPtr, size, p.Heads, p.HeadDim, (long)p.QRowOffset + p.QCount, variant.BlockRows);
            }

            // With a chunk table each chunk's K/V maps are in it; the k and v parameters stay zero.
            if (chunks == 0)
            {
                TensorMap.EncodeRows(maps + TensorMap.Bytes, p.KPtr, size, p.KvHeads, p.HeadDim, (long)p.KRowOffset + p.KCount, variant.BlockKeys);
                if (fp8 is { } f)
                {
                    TensorMap.EncodeTransposed(maps + (2 * TensorMap.Bytes), f.TransposedVPtr, p.KvHeads, p.HeadDim, f.TransposedKeys);
                }
                else
                {
                    TensorMap.EncodeRows(maps + (2 * TensorMap.Bytes), p.VPtr, size, p.KvHeads, p.HeadDim, (long)p.KRowOffset + p.KCount, variant.BlockKeys);
                }
            }

            // The order of Parameters.
            int* ints = stackalloc int[] { p.QCount, p.QPos0, p.QRowOffset, p.KCount, p.KPos0, p.KRowOffset, p.Heads, p.Group, p.DMin, p.DMax };
            float scale = p.ScaleLog2;
            int* tail = stackalloc int[] { p.LseStride, p.Merge, p.HeavyFirst, plan.Pack, plan.Splits };
            ulong qkd = fp8?.QkDescalePtr ?? 0, vd = fp8?.VDescalePtr ?? 0;
            void** args = stackalloc void*[Fp8Parameters.Length]; // a 16-bit kernel reads the first Parameters.Length
            args[0] = maps;
            args[1] = maps + TensorMap.Bytes;
            args[2] = maps + (2 * TensorMap.Bytes);
            args[3] = &po;
            args[4] = &plse;
            for (int i = 0; i < 10; i++)
            {
                args[5 + i] = ints + i;
            }

            args[15] = &scale;
            for (int i = 0; i < 5; i++)
            {
                args[16 + i] = tail + i;
            }

            args[21] = &chunks;
            args[22] = &qkd;
            args[23] = &vd;

            var stream = ((CudaStream)_accelerator.DefaultStream).StreamPtr;
            // Equal tiles (no causal mask): persistent, one block per multiprocessor walking the work tiles. Unequal ones
            // (heavy first): one block per tile, the hardware's dynamic block scheduler balancing them (gen_hopper.py).
            int blocks = (int)(p.HeavyFirst != 0 ? tiles : Math.Min(tiles, _accelerator.NumMultiprocessors));
            CudaDriver.Launch(function, blocks, 1, variant.Threads, variant.SharedBytes, stream, args);
        }
        finally
        {
            NativeMemory.AlignedFree(maps);
        }
    }

    /// <summary>Registers and stack bytes per thread of a variant as the driver compiled it (loads it if needed).</summary>
    public (int Registers, int LocalBytes) Inspect(WarpSpecializedVariant variant)
    {
        var function = Get(variant);
        return (CudaDriver.GetAttribute(function, CudaDriver.NumRegs), CudaDriver.GetAttribute(function, CudaDriver.LocalSizeBytes));
    }

    public void Dispose()
    {
        foreach (var (module, _) in _loaded.Values)
        {
            CudaDriver.Unload(module);
        }

        _loaded.Clear();
    }

    private IntPtr Get(WarpSpecializedVariant variant)
    {
        if (_loaded.TryGetValue(variant, out var e))
        {
            return e.Function;
        }

        _accelerator.Bind();
        e = CudaDriver.LoadPtx(variant.Ptx(), variant.Entry);
        CudaDriver.SetAttribute(e.Function, CudaDriver.MaxDynamicSharedBytes, variant.SharedBytes);
        _loaded[variant] = e;
        return e.Function;
    }
}
