using System.Diagnostics;

namespace RingAttention.Kernels.Gpu.Tests;

/// <summary>
/// The committed kernels are exactly what their generator writes: Generator/gen_flash.py is run into a temp directory
/// and every file (one per kernel, and the variant table the launcher reads) must match byte for byte, with none
/// extra on either side. Edit the generator, run it (`python3 gen_flash.py ..` in Generator/), commit both.
/// </summary>
public sealed class GeneratedKernelsTests : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("ringattention-gen-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void Generator_Rerun_MatchesTheCommittedKernelsAndVariantTable()
    {
        string project = Path.Combine(RepositoryRoot(), "src", "Kernels", "RingAttention.Kernels.Gpu");
        var start = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(project, "Generator", "gen_flash.py"));
        start.ArgumentList.Add(_out);
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"gen_flash.py exited {process.ExitCode}: {errors}");

        var generated = Files(_out);
        var committed = Files(project);
        Assert.Equal(generated.Order(), committed.Order());
        foreach (string file in generated)
        {
            Assert.True(File.ReadAllText(Path.Combine(_out, file)) == File.ReadAllText(Path.Combine(project, file)),
                $"{file} differs from what Generator/gen_flash.py writes: regenerate it");
        }
    }

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

    /// <summary>Paths relative to <paramref name="root"/> of the generated files under it (Flash/*.g.cs and FlashVariants.g.cs).</summary>
    private static List<string> Files(string root) =>
    [
        .. Directory.EnumerateFiles(Path.Combine(root, "Flash"), "*.g.cs").Select(f => Path.Combine("Flash", Path.GetFileName(f))),
        .. Directory.EnumerateFiles(root, "FlashVariants.g.cs").Select(Path.GetFileName).OfType<string>(),
    ];

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
