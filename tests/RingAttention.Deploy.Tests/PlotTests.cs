using System.Buffers.Binary;

namespace RingAttention.Deploy.Tests;

/// <summary>The README's figures are regenerated from bench/results by the plot program, and the README shows each.</summary>
public sealed class PlotTests : IDisposable
{
    private static readonly string[] Figures = ["kernel-tflops.png", "kernel-head-dims.png", "kernel-fp8.png", "ring-efficiency.png", "cpu-gflops.png", "linear-tokens.png"];

    private readonly string _work = Directory.CreateTempSubdirectory("ringattention-plots-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public void PlotProgram_FromResults_WritesEveryFigureTheReadmeShows()
    {
        string? dotnet = Tools.FindOnPath("dotnet");
        Skip.If(dotnet is null, "dotnet is not on PATH");
        string program = Repo.PathOf("bench/RingAttention.Bench.Plot/bin/Release/net10.0/RingAttention.Bench.Plot.dll");
        Assert.True(File.Exists(program), $"{program} is built with the solution (this project builds it first)");

        var plot = Tools.Run(dotnet, [program, "--results", Repo.PathOf("bench/results"), "--out", _work], Repo.Root, TimeSpan.FromMinutes(2));

        Assert.True(plot.ExitCode == 0, plot.Describe("plot"));
        string readme = Repo.ReadText("README.md");
        foreach (string figure in Figures)
        {
            var (width, height) = PngSize(Path.Combine(_work, figure));
            Assert.True(width >= 800 && height >= 400, $"{figure} is {width}x{height}");
            Assert.True(new FileInfo(Path.Combine(_work, figure)).Length > 10_000, $"{figure} looks empty");
            Assert.True(File.Exists(Repo.PathOf($"docs/plots/{figure}")), $"docs/plots/{figure} is not committed");
            Assert.Contains($"(docs/plots/{figure})", readme, StringComparison.Ordinal);
        }
    }

    [SkippableFact]
    public void PlotProgram_NoResultsDirectory_ExitsTwoNamingTheFlag()
    {
        string? dotnet = Tools.FindOnPath("dotnet");
        Skip.If(dotnet is null, "dotnet is not on PATH");
        string program = Repo.PathOf("bench/RingAttention.Bench.Plot/bin/Release/net10.0/RingAttention.Bench.Plot.dll");

        var plot = Tools.Run(dotnet, [program, "--results", Path.Combine(_work, "none"), "--out", _work], Repo.Root, TimeSpan.FromMinutes(1));

        Assert.Equal(2, plot.ExitCode);
        Assert.Contains("--results", plot.StdErr, StringComparison.Ordinal);
    }

    /// <summary>Width and height from the PNG signature and IHDR chunk.</summary>
    private static (int Width, int Height) PngSize(string path)
    {
        byte[] head = File.ReadAllBytes(path)[..24];
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], head[..4]);
        return (BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(20)));
    }
}
