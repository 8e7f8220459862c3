using RingAttention.Kernels.Gpu;

namespace RingAttention.Bench.Gpu;

/// <summary>Kernel-variant options shared by bench and verify: --wgmma 0|1, --wg 1|2, --blocks N, --slabs 1|2.</summary>
internal static class KernelOptions
{
    public static void Apply(CudaAttentionBackend backend, Options options)
    {
        var flash = backend.Flash;
        flash.UseWgmma = options.Get("wgmma", flash.UseWgmma ? "1" : "0") == "1";
        flash.WgmmaWarpgroups = int.Parse(options.Get("wg", flash.WgmmaWarpgroups.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);
        flash.WgmmaBlocksPerSm = int.Parse(options.Get("blocks", flash.WgmmaBlocksPerSm.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);
        flash.Slabs = int.Parse(options.Get("slabs", flash.Slabs.ToString(System.Globalization.CultureInfo.InvariantCulture)), System.Globalization.CultureInfo.InvariantCulture);
    }
}
