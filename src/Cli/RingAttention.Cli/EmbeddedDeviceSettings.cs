using System.ComponentModel;
using Spectre.Console.Cli;

namespace RingAttention.Cli;

/// <summary>Options of commands that can start an embedded cluster: which device its silos compute on.</summary>
public class EmbeddedDeviceSettings : CliSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("embedded cluster: auto (a CUDA GPU if there is one, else the CPU), cpu, cuda, or ilgpu-cpu (the GPU code path on ILGPU's CPU accelerator: slow, for tests)")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";
}
