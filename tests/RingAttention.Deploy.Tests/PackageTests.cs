using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace RingAttention.Deploy.Tests;

/// <summary>
/// `dotnet pack` of the solution gives the SDK, silo and CLI packages with their metadata, and the CLI package
/// installs as a .NET tool whose `ringattn demo` runs from a directory outside the repository.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private static readonly string[] Expected =
    [
        "RingAttention.Core", "RingAttention.Kernels", "RingAttention.Kernels.Gpu", "RingAttention.Grains.Abstractions",
        "RingAttention.Grains", "RingAttention.Client", "RingAttention.Silo", "RingAttention.Cli",
    ];

    private readonly string _work = Directory.CreateTempSubdirectory("ringattention-pack-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [SkippableFact]
    public void Pack_Solution_GivesEveryPackageWithMetadataAndTheToolRunsTheDemoOutsideTheRepository()
    {
        string? dotnet = Tools.FindOnPath("dotnet");
        Skip.If(dotnet is null, "dotnet is not on PATH");
        string feed = Path.Combine(_work, "feed");
        // --no-build: the packages are made of the build the tests run against (CI builds the solution first).
        var pack = Tools.Run(dotnet, ["pack", Repo.PathOf("RingAttention.sln"), "-c", "Release", "--no-build", "-o", feed], Repo.Root, TimeSpan.FromMinutes(5));
        Assert.True(pack.ExitCode == 0, pack.StdOut + pack.StdErr);
        Assert.DoesNotMatch(new Regex(@"warning [A-Z]+\d+"), pack.StdOut);

        string version = Regex.Match(Repo.ReadText("Directory.Build.props"), "<Version>([^<]+)</Version>").Groups[1].Value;
        var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(Expected.Select(id => $"{id}.{version}.nupkg").Order(), packages);
        foreach (string id in Expected)
        {
            using var package = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
            var metadata = XDocument.Load(package.GetEntry($"{id}.nuspec")!.Open()).Root!.Elements().First();
            string Field(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";
            Assert.Equal("MIT", Field("license"));
            Assert.Equal("README.md", Field("readme"));
            Assert.True(Field("description").Length > 40, $"{id} has no description");
            Assert.NotNull(package.GetEntry("README.md"));
        }

        string tools = Path.Combine(_work, "tools");
        var install = Tools.Run(dotnet, ["tool", "install", "--tool-path", tools, "--add-source", feed, "RingAttention.Cli", "--version", version],
            _work, TimeSpan.FromMinutes(3));
        Assert.True(install.ExitCode == 0, install.StdOut + install.StdErr);

        string elsewhere = Directory.CreateDirectory(Path.Combine(_work, "elsewhere")).FullName;
        var demo = Tools.Run(Path.Combine(tools, "ringattn"), ["demo", "--tokens", "4096", "--json", "--log-file", Path.Combine(_work, "demo.log")],
            elsewhere, TimeSpan.FromMinutes(3));
        Assert.True(demo.ExitCode == 0, demo.StdOut + demo.StdErr);
        using var report = JsonDocument.Parse(demo.StdOut);
        Assert.True(report.RootElement.GetProperty("verification").GetProperty("passed").GetBoolean());
        Console.WriteLine(FormattableString.Invariant(
            $"installed tool: demo wall {demo.Elapsed.TotalSeconds:0.00} s, runtime start {report.RootElement.GetProperty("runtimeStartSeconds").GetDouble():0.00} s, cluster start {report.RootElement.GetProperty("clusterStartSeconds").GetDouble():0.00} s, job {report.RootElement.GetProperty("job").GetProperty("wallSeconds").GetDouble():0.00} s"));
    }
}
