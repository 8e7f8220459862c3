using System.ComponentModel;
using RingAttention.Kernels.Gpu;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Bench;

/// <summary>Which tensor-core kernel variant to run (`bench kernel` and `bench verify`); unset options keep the backend's choice.</summary>
public class KernelVariantSettings : CliSettings
{
    [CommandOption("--wgmma <0|1>")]
    [Description("1: the sm_90 wgmma kernel; 0: the mma.sync kernel (default: the backend's choice for the device)")]
    public int? Wgmma { get; init; }

    [CommandOption("--wg <N>")]
    [Description("wgmma kernel: consumer warpgroups per block (1 or 2)")]
    public int? Warpgroups { get; init; }

    [CommandOption("--blocks <N>")]
    [Description("wgmma kernel: blocks per SM")]
    public int? BlocksPerSm { get; init; }

    [CommandOption("--ws <0|1>")]
    [Description("1: the warp-specialized Hopper kernel (TMA, producer and consumer warpgroups) where one serves the head dim (default on Hopper); 0: the ILGPU kernels")]
    public int? WarpSpecialized { get; init; }

    [CommandOption("--short-blocks <0|1>")]
    [Description("warp-specialized kernel: 1 packs GQA heads into a tile and splits the keys over blocks for short query blocks (default); 0: one head a tile, all keys")]
    public int? ShortBlocks { get; init; }

    [CommandOption("--decode <0|1>")]
    [Description("1: query rows the split-K decode kernels serve go to them; 0: to the tiled kernels (default: the decode kernels, except one run of K/V on Hopper's planned warp-specialized kernel)")]
    public int? Decode { get; init; }

    [CommandOption("--slabs <N>")]
    [Description("mma.sync kernel: 16-row slabs per warp (1 or 2)")]
    public int? Slabs { get; init; }

    public void Apply(CudaAttentionBackend backend)
    {
        var flash = backend.Flash;
        flash.UseWgmma = Wgmma is int wgmma ? wgmma == 1 : flash.UseWgmma;
        flash.WgmmaWarpgroups = Warpgroups ?? flash.WgmmaWarpgroups;
        flash.WgmmaBlocksPerSm = BlocksPerSm ?? flash.WgmmaBlocksPerSm;
        flash.Slabs = Slabs ?? flash.Slabs;
        flash.UseWarpSpecialized = WarpSpecialized is int ws ? ws == 1 : flash.UseWarpSpecialized;
        flash.PlanShortBlocks = ShortBlocks is int sb ? sb == 1 : flash.PlanShortBlocks;
        backend.UseDecodeKernel = Decode is int decode ? decode == 1 : backend.UseDecodeKernel;
        backend.TiledForOneRun = Decode is null && backend.TiledForOneRun;
    }

    /// <summary>The CUDA backend, or a clear error when this machine has none (the bench commands time the GPU only).</summary>
    public CudaAttentionBackend OpenCuda(out string reason)
    {
        if (!GpuBackends.TryCreateCuda(out var created, out reason) || created is not CudaAttentionBackend cuda)
        {
            created?.Dispose();
            throw new Attention.SpecValidationException("device", $"this command needs a CUDA GPU with tensor cores: {reason}");
        }

        Apply(cuda);
        return cuda;
    }
}
