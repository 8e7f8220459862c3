using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using System.Text;
using System.Text.RegularExpressions;

namespace RingAttention.Kernels.Gpu;

/// <summary>
/// PTX text rewrite for ILGPU 1.5.3 output. ILGPU routes every inline-asm operand through its own 4-byte
/// <c>.local</c> depot (st.local before, ld.local after the asm) and keeps each depot's address in a 64-bit register
/// for the whole kernel. In a kernel with ~2000 asm operands ptxas no longer promotes them: measured on the H100,
/// 255 registers and 3.8–13 KB of local memory per thread, 4.7 TFLOP/s. Here each depot becomes a register of the
/// type its accesses use, and each access a mov; ptxas then removes the movs. Returns null (caller keeps the original)
/// when the text holds a pattern this rewrite does not understand.
/// </summary>
internal static partial class PtxPatch
{
    /// <summary>
    /// Compiles through ILGPU's PTX backend, rewrites the operand depots into registers (<see cref="PtxPatch"/>) and loads
    /// the patched text through PTXCompiledKernel's internal constructor; falls back to ILGPU's own load if either step
    /// is unavailable (another ILGPU version), which is correct but slow.
    /// </summary>
    public static Kernel Load(ILGPU.Runtime.Cuda.CudaAccelerator accelerator, System.Reflection.MethodInfo method, KernelSpecialization specialization, bool sm90a, out bool patched)
    {
        var compiled = (PTXCompiledKernel)accelerator.Backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), specialization);
        string? text = PtxPatch.PromoteLocalDepots(compiled.PTXAssembly);
        if (sm90a)
        {
            // ILGPU 1.5.3 writes .target sm_80 even on Hopper; wgmma and fence.proxy.async need sm_90a.
            text = text?.Replace(".target sm_80", ".target sm_90a", StringComparison.Ordinal)
                ?? throw new NotSupportedException("the wgmma kernel needs the PTX rewrite, which failed on this ILGPU output");
        }

        var ctor = typeof(PTXCompiledKernel).GetConstructors(System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)
            .FirstOrDefault(c => c.GetParameters().Length == 4);
        var entryPoint = typeof(CompiledKernel).GetProperty("EntryPoint", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)?.GetValue(compiled);
        patched = text is not null && ctor is not null && entryPoint is not null;
        var toLoad = patched ? (CompiledKernel)ctor!.Invoke([compiled.Context, entryPoint, compiled.Info, text]) : compiled;
        return accelerator.LoadKernel(toLoad);
    }


    public static string? PromoteLocalDepots(string ptx)
    {
        var depots = new Dictionary<string, int>();
        foreach (Match m in DepotDecl().Matches(ptx))
        {
            depots[m.Groups["name"].Value] = int.Parse(m.Groups["size"].Value, System.Globalization.CultureInfo.InvariantCulture);
        }

        if (depots.Count == 0)
        {
            return ptx;
        }

        var addr = new Dictionary<string, string>();
        foreach (Match m in AddrMov().Matches(ptx))
        {
            addr[m.Groups["reg"].Value] = m.Groups["depot"].Value;
        }

        var types = new Dictionary<string, string>();
        var sb = new StringBuilder(ptx.Length);
        foreach (var rawLine in ptx.Split('\n'))
        {
            string line = rawLine;
            var am = AddrMov().Match(line);
            if (am.Success && addr.ContainsKey(am.Groups["reg"].Value))
            {
                continue;
            }

            var st = Store().Match(line);
            var ld = Load().Match(line);
            if (st.Success && addr.TryGetValue(st.Groups["reg"].Value, out var sd))
            {
                if (!Note(types, sd, st.Groups["type"].Value))
                {
                    return null;
                }

                line = $"\tmov.{st.Groups["type"].Value}\t%ldp{sd[13..]}, {st.Groups["src"].Value};";
            }
            else if (ld.Success && addr.TryGetValue(ld.Groups["reg"].Value, out var lsd))
            {
                if (!Note(types, lsd, ld.Groups["type"].Value))
                {
                    return null;
                }

                line = $"\tmov.{ld.Groups["type"].Value}\t{ld.Groups["dst"].Value}, %ldp{lsd[13..]};";
            }
            else if (DepotDecl().IsMatch(line))
            {
                continue;
            }
            else
            {
                foreach (var reg in RegToken().Matches(line).Select(x => x.Value))
                {
                    if (addr.ContainsKey(reg))
                    {
                        return null;
                    }
                }
            }

            sb.Append(line).Append('\n');
        }

        // Declare the registers right after the entry's opening brace.
        var decl = new StringBuilder();
        foreach (var (depot, type) in types)
        {
            decl.Append('\t').Append(".reg .").Append(type).Append(" %ldp").Append(depot[13..]).Append(";\n");
        }

        string text = sb.ToString();
        int brace = text.IndexOf("\n{\n", StringComparison.Ordinal);
        if (brace < 0 || text.Contains("__local_depot", StringComparison.Ordinal))
        {
            return null;
        }

        return text.Insert(brace + 3, decl.ToString());
    }

    private static bool Note(Dictionary<string, string> types, string depot, string type)
    {
        if (type is not ("f32" or "b32" or "u32" or "s32" or "b64" or "u64" or "s64" or "f64"))
        {
            return false;
        }

        if (types.TryGetValue(depot, out var seen))
        {
            return seen == type;
        }

        types[depot] = type;
        return true;
    }

    [GeneratedRegex(@"^\s*\.local\s+\.align\s+\d+\s+\.b8\s+(?<name>__local_depot\d+)\[(?<size>\d+)\];\s*$", RegexOptions.Multiline)]
    private static partial Regex DepotDecl();

    [GeneratedRegex(@"^\s*mov\.b64\s+(?<reg>%rd\d+),\s*(?<depot>__local_depot\d+);\s*$", RegexOptions.Multiline)]
    private static partial Regex AddrMov();

    [GeneratedRegex(@"^\s*st\.local\.(?<type>\w+)\s+\[(?<reg>%rd\d+)\],\s*(?<src>[^;]+);\s*$")]
    private static partial Regex Store();

    [GeneratedRegex(@"^\s*ld\.local\.(?<type>\w+)\s+(?<dst>%\w+),\s*\[(?<reg>%rd\d+)\];\s*$")]
    private static partial Regex Load();

    [GeneratedRegex(@"%rd\d+\b")]
    private static partial Regex RegToken();
}
