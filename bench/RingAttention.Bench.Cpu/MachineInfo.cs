using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using RingAttention.Kernels.Cpu;

namespace RingAttention.Bench.Cpu;

/// <summary>What the numbers were measured on, printed above every table.</summary>
internal static class MachineInfo
{
    public static string CpuModel()
    {
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    public static string Describe() =>
        $"{CpuModel()}, {Environment.ProcessorCount} logical cores, {RuntimeInformation.FrameworkDescription}, " +
        $"Vector512 accelerated: {Vector512.IsHardwareAccelerated}, {RuntimeInformation.OSDescription}";

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or "n/a".</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "n/a";
        }
    }

    /// <summary>True when the kernels assembly was compiled without optimisation (a Debug build): its timings mean nothing.</summary>
    public static bool KernelsAreDebugBuild() =>
        typeof(CpuAttentionBackend).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled ?? false;
}
