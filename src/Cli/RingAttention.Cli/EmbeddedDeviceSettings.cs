using System.ComponentModel;
using Spectre.Console.Cli;

namespace RingAttention.Cli;

/// <summary>Options of commands that can start an embedded cluster: which device its silos compute on.</summary>
public class EmbeddedDeviceSettings : CliSettings
{
    [CommandOption("--device <DEVICE>")]
    [Description("embedded cluster: auto (every CUDA GPU of the host if there is one, else the CPU), cpu, cuda (every GPU), cuda:N or cuda:0,cuda:1 (those GPUs), or ilgpu-cpu[[:N]] (the GPU code path on N of ILGPU's CPU accelerators: slow, for tests)")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";
}
