using System.Diagnostics;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The committed kernels are exactly what their generators write: Generator/gen_flash.py (ILGPU kernels) and
/// Generator/gen_hopper.py (warp-specialized PTX) are run into a temp directory and every file (one per kernel, and the
/// variant tables the launchers read) must match byte for byte, with none extra on either side. Edit the generator,
/// run it (`python3 gen_flash.py ..` / `python3 gen_hopper.py ..` in Generator/), commit both.
/// </summary>
public sealed class GeneratedKernelsTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("ringattention-gen-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Theory]
    [InlineData("gen_flash.py")]
    [InlineData("gen_hopper.py")]
    public void Generator_Rerun_MatchesTheCommittedKernelsAndVariantTable(string generator)
    {
        string project = Path.Combine(RepositoryRoot(), "src", "Kernels", "RingAttention.Kernels.Gpu");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(project, "Generator", generator));
        start.ArgumentList.Add(_out);
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{generator} exited {process.ExitCode}: {errors}");

        var generated = Files(_out, generator);
        var committed = Files(project, generator);
        Assert.NotEmpty(generated);
        Assert.Equal(generated.Order(), committed.Order());
        foreach (string file in generated)
        {
            Assert.True(File.ReadAllText(Path.Combine(_out, file)) == File.ReadAllText(Path.Combine(project, file)),
                $"{file} differs from what Generator/{generator} writes: regenerate it");
        }
    }

    [Fact]
    public void WarpSpecializedTable_EveryKernelEmbedded_WithItsEntry_AndWithinTheSharedMemoryOfAnSm()
    {
        Assert.NotEmpty(WarpSpecializedVariants.All);
        Assert.Equal(WarpSpecializedVariants.All.Length, WarpSpecializedVariants.All.Select(v => (v.Type, v.Dim, v.Short)).Distinct().Count());
        // Every 16-bit kernel has its short-block variant, of the same tiles (WarpSpecializedPlan is made from either);
        // FP8 has none (it never packs).
        foreach (var v in WarpSpecializedVariants.All.Where(v => !v.Short))
        {
            var s = WarpSpecializedKernel.Find(v.Type, v.Dim, shortBlocks: true);
            Assert.True(v.Fp8 ? s is null : s is { } x && x.BlockRows == v.BlockRows && x.BlockKeys == v.BlockKeys && x.Entry == v.Entry + "_short", v.Entry);
        }

        foreach (var v in WarpSpecializedVariants.All)
        {
            string ptx = v.Ptx();
            Assert.Contains($".visible .entry {v.Entry}(", ptx, StringComparison.Ordinal);
            Assert.Contains(".target sm_90a", ptx, StringComparison.Ordinal);
            // 227 KB: the most dynamic shared memory one block of an sm_90 multiprocessor may take.
            Assert.True(v.SharedBytes <= 227 * 1024 && v.Threads == 384, v.Entry);
            // The parameters Launch passes, in its order (a drift would read a head count as a position on the GPU only).
            var entry = ptx[ptx.IndexOf($".visible .entry {v.Entry}(", StringComparison.Ordinal)..ptx.IndexOf(')', StringComparison.Ordinal)];
            var names = System.Text.RegularExpressions.Regex.Matches(entry, @"\.param [^\n,]* (\w+)(\[\d+\])?").Select(m => m.Groups[1].Value);
            Assert.Equal(v.Fp8 ? WarpSpecializedKernel.Fp8Parameters : WarpSpecializedKernel.Parameters, names);
            // Registers after setmaxnreg: one producer and two consumer warpgroups within the 64K of a multiprocessor.
            Assert.True(Count(ptx, "setmaxnreg.dec") == 1 && Count(ptx, "setmaxnreg.inc") == 1, v.Entry);
        }

        Assert.Equal("ring_ws_bf16_d128", WarpSpecializedKernel.Find(RingAttention.Tensors.ElementType.BF16, 128)?.Entry);
        Assert.Equal("ring_ws_bf16_d128_short", WarpSpecializedKernel.Find(RingAttention.Tensors.ElementType.BF16, 128, shortBlocks: true)?.Entry);
        Assert.Equal("ring_ws_f16_d96", WarpSpecializedKernel.Find(RingAttention.Tensors.ElementType.F16, 96)?.Entry);
        Assert.Null(WarpSpecializedKernel.Find(RingAttention.Tensors.ElementType.BF16, 104)); // the ILGPU class kernel serves it
        Assert.Null(WarpSpecializedKernel.Find(RingAttention.Tensors.ElementType.BF16, 32));
        Assert.Equal(["ring_ws_e4m3_d128", "ring_ws_e4m3_d256"], WarpSpecializedVariants.All.Where(v => v.Fp8).Select(v => v.Entry));
        Assert.Null(WarpSpecializedKernel.Find(RingAttention.Tensors.ElementType.F32, 128));
    }

    private static int Count(string text, string what) => (text.Length - text.Replace(what, string.Empty, StringComparison.Ordinal).Length) / what.Length;

    [Fact]
    public void VariantTable_OneEntryPerKernelAndShape()
    {
        Assert.Equal(FlashVariants.All.Length, FlashVariants.All.Select(v => (v.Type, v.Dim, v.Exact, v.Wgmma, v.Width)).Distinct().Count());
        Assert.Equal(FlashVariants.All.Length, typeof(FlashKernels).GetMethods().Count(m => m.IsStatic && m.DeclaringType == typeof(FlashKernels)));
        Assert.All(FlashVariants.All, v => Assert.True(v.SharedBytes <= 227 * 1024 && v.Threads % 128 == 0, v.Name));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void EveryMultipleOf8UpTo256_HasATensorCoreKernel_ThePaddedOneOnlyWhereNoExactOneIs(bool wgmma)
    {
        foreach (var type in new[] { RingAttention.Tensors.ElementType.BF16, RingAttention.Tensors.ElementType.F16 })
        {
            for (int dim = 8; dim <= 256; dim += 8)
            {
                var chosen = FlashLauncher.Choose(type, dim, wgmma, width: 2);
                Assert.True(chosen is not null, $"{type} d={dim} wgmma={wgmma}: no kernel");
                Assert.True(chosen.MinDim <= dim && dim <= chosen.Dim && chosen.Tile >= chosen.Dim, $"{chosen.Name} for d={dim}");
                Assert.Equal(dim is 64 or 96 or 128, chosen.Exact);
                // The smallest class: no kernel of a smaller class also serves it.
                Assert.DoesNotContain(FlashVariants.All, v => v.Serves(type, dim) && v.Wgmma == wgmma && !v.Exact && v.Dim < chosen.Dim);
            }

            Assert.Null(FlashLauncher.Choose(type, 100, wgmma, 2));
            Assert.Null(FlashLauncher.Choose(type, 264, wgmma, 2));
        }
    }

    /// <summary>
    /// Paths relative to <paramref name="root"/> of the files a generator writes under it: gen_flash.py Flash/*.g.cs and
    /// FlashVariants.g.cs, gen_hopper.py Hopper/*.g.ptx and WarpSpecializedVariants.g.cs.
    /// </summary>
    private static List<string> Files(string root, string generator)
    {
        var (folder, pattern, table) = generator == "gen_flash.py" ? ("Flash", "*.g.cs", "FlashVariants.g.cs") : ("Hopper", "*.g.ptx", "WarpSpecializedVariants.g.cs");
        string dir = Path.Combine(root, folder);
        return
        [
            .. (Directory.Exists(dir) ? Directory.EnumerateFiles(dir, pattern) : []).Select(f => Path.Combine(folder, Path.GetFileName(f))),
            .. Directory.EnumerateFiles(root, table).Select(Path.GetFileName).OfType<string>(),
        ];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RingAttention.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (RingAttention.sln) is not above " + AppContext.BaseDirectory);
    }
}
