using System.Xml.Linq;

namespace RingAttention.Deploy.Tests;

/// <summary>What the silo images are built from and how they run, read from deploy/Dockerfile.*.</summary>
public sealed class DockerfileTests
{
    private const string SiloProject = "src/Silo/RingAttention.Silo/RingAttention.Silo.csproj";

    public static TheoryData<string> Dockerfiles => [.. Dockerfile.Paths];

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Build_stage_publishes_the_silo_project_from_the_dotnet_10_sdk(string path)
    {
        var d = Dockerfile.Load(path);
        Assert.True(d.Stages.Count >= 2, $"{path} is not multi-stage");
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", d.BuildStage.Image);
        var publish = d.PublishCommand;
        Assert.Equal(["dotnet", "publish", SiloProject], publish.Take(3));
        Assert.Equal("Release", publish[publish.ToList().IndexOf("-c") + 1]);
        Assert.Equal("/app", publish[publish.ToList().IndexOf("-o") + 1]);
        // The final stage takes the published app from the build stage.
        Assert.Contains(d.Final.All("COPY"), c => c.Contains($"--from={d.BuildStage.Name}", StringComparison.Ordinal) && c.Contains("/app", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Final_stage_runs_as_a_non_root_numeric_user(string path)
    {
        var d = Dockerfile.Load(path);
        var user = d.FinalUser;
        Assert.False(string.IsNullOrEmpty(user), $"{path}: the final stage has no USER (it would run as root)");
        var parts = user!.Split(':');
        // Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
        Assert.True(int.TryParse(parts[0], out var uid) && uid > 0, $"{path}: USER {user} is not a non-zero numeric uid");
        Assert.True(parts.Length == 1 || (int.TryParse(parts[1], out var gid) && gid > 0), $"{path}: USER {user} has a root or named group");
        // Nothing after USER switches back to root.
        var afterUser = d.Final.Instructions.SkipWhile(i => i.Keyword != "USER").Skip(1);
        Assert.DoesNotContain(afterUser, i => i.Keyword == "RUN");
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Final_stage_exposes_the_four_silo_ports_and_pins_them(string path)
    {
        var d = Dockerfile.Load(path);
        var exposed = d.Final.All("EXPOSE").SelectMany(e => e.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p.Split('/')[0])).ToHashSet();
        Assert.Superset(new HashSet<int> { 11111, 30000, 11200, 8080 }, exposed);
        var env = string.Join(' ', d.Final.All("ENV"));
        Assert.Contains("Silo__SiloPort=11111", env);
        Assert.Contains("Silo__GatewayPort=30000", env);
        Assert.Contains("Silo__DataPort=11200", env); // its default, 0, would pick a port at random
        Assert.Contains("Silo__HttpPort=8080", env);
    }

    /// <summary>ADR 24: a silo JITs each method optimised once (a session attend on nvidia-h200: 2.64 ms so, 4.65 ms with
    /// the tiered default), and collects garbage with the server GC.</summary>
    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Final_stage_runs_the_silo_without_the_tiered_jit(string path)
    {
        var env = string.Join(' ', Dockerfile.Load(path).Final.All("ENV"));
        Assert.Contains("DOTNET_TieredCompilation=0", env);
        Assert.Contains("DOTNET_gcServer=1", env);
    }

    [Fact]
    public void Cpu_image_is_framework_dependent_on_the_aspnet_runtime()
    {
        var d = Dockerfile.Load("deploy/Dockerfile.cpu");
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", d.Final.Image);
        Assert.DoesNotContain("--self-contained", d.PublishCommand);
        Assert.Contains("RingAttention.Silo.dll", d.Final.All("ENTRYPOINT").Single());
    }

    [Fact]
    public void Cuda_image_is_a_self_contained_app_on_the_cuda_runtime()
    {
        var d = Dockerfile.Load("deploy/Dockerfile.cuda");
        Assert.Matches(@"^nvidia/cuda:12\.[0-9.]+-(cudnn-)?runtime-ubuntu24\.04$", d.Final.Image);
        var publish = d.PublishCommand.ToList();
        Assert.Equal("linux-x64", publish[publish.IndexOf("-r") + 1]);
        Assert.Contains("--self-contained", publish);
        Assert.Contains("/app/RingAttention.Silo\"", d.Final.All("ENTRYPOINT").Single());
        // The OS libraries a self-contained .NET app needs on Ubuntu 24.04 (TLS: OpenSSL; certificates; time zones).
        var run = string.Join(' ', d.Final.All("RUN"));
        Assert.Contains("libssl3t64", run);
        Assert.Contains("ca-certificates", run);
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Build_context_holds_everything_the_silo_build_reads(string path)
    {
        var d = Dockerfile.Load(path);
        var copied = d.BuildStage.All("COPY")
            .Where(c => !c.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(c => c.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .Where(w => !w.StartsWith("--", StringComparison.Ordinal))
            .Select(w => w.TrimEnd('/'))
            .ToHashSet();

        // Repository-wide build inputs: every one that exists must be copied.
        foreach (var file in new[] { "global.json", "nuget.config", "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            if (File.Exists(Repo.PathOf(file)))
            {
                Assert.True(copied.Contains(file), $"{path} does not copy {file}, which the build reads");
            }
        }

        // Every project the silo builds from lies under a copied folder.
        foreach (var project in ProjectClosure(SiloProject))
        {
            Assert.True(copied.Any(c => project.StartsWith(c + "/", StringComparison.Ordinal)), $"{path} does not copy {project}");
        }

        // The Dockerfile's own ignore file keeps host build outputs out of the context.
        var ignore = File.ReadAllLines(Repo.PathOf(path + ".dockerignore")).Select(l => l.Trim()).ToList();
        Assert.Contains("**/bin", ignore);
        Assert.Contains("**/obj", ignore);
    }

    /// <summary>The project and every ProjectReference it reaches, as repository-relative paths.</summary>
    internal static IReadOnlyList<string> ProjectClosure(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([project]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }

            var full = Repo.PathOf(current);
            foreach (var reference in XDocument.Load(full).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full)!, include));
                pending.Push(Path.GetRelativePath(Repo.Root, resolved).Replace('\\', '/'));
            }
        }

        return [.. seen];
    }
}
