using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace RingAttention.Deploy.Tests;

/// <summary>No container engine runs in CI, so this runs each Dockerfile's build stage by hand: the files its COPY
/// lines put in the context (filtered by its .dockerignore), then its own `dotnet publish` command line, and checks
/// that the result runs on the Dockerfile's runtime base. Both Dockerfiles copy the same context, so it is laid out
/// once (<see cref="BuildContexts"/>) and the second publish reuses the libraries the first compiled (they build
/// RID-agnostic): measured on the 2-core CI machine, the two from-scratch publishes took 64 and 78 s.</summary>
public sealed class PublishTests(PublishTests.BuildContexts contexts) : IClassFixture<PublishTests.BuildContexts>
{
    [SkippableFact]
    public void Cpu_dockerfile_publish_produces_a_framework_dependent_silo_for_the_aspnet_base()
    {
        var app = Publish("deploy/Dockerfile.cpu", out var work);
        try
        {
            Assert.True(File.Exists(Path.Combine(app, "RingAttention.Silo.dll")));
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(app, "RingAttention.Silo.runtimeconfig.json")))!["runtimeOptions"]!;
            Assert.Null(config["includedFrameworks"]);
            var frameworks = (config["frameworks"]?.AsArray() ?? [config["framework"]]).Select(f => f!).ToList();
            // mcr.microsoft.com/dotnet/aspnet:10.0 carries exactly these shared frameworks.
            Assert.All(frameworks, f =>
            {
                Assert.Contains(f["name"]!.GetValue<string>(), new[] { "Microsoft.NETCore.App", "Microsoft.AspNetCore.App" });
                Assert.StartsWith("10.", f["version"]!.GetValue<string>());
            });
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [SkippableFact]
    public void Cuda_dockerfile_publish_produces_a_self_contained_linux_x64_silo()
    {
        var app = Publish("deploy/Dockerfile.cuda", out var work);
        try
        {
            Assert.True(File.Exists(Path.Combine(app, "RingAttention.Silo.dll")));
            Assert.True(File.Exists(Path.Combine(app, "RingAttention.Silo")), "no linux-x64 apphost (the image's ENTRYPOINT)");
            Assert.True(File.Exists(Path.Combine(app, "libcoreclr.so")), "the .NET runtime is not in the app");
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(app, "RingAttention.Silo.runtimeconfig.json")))!["runtimeOptions"]!;
            Assert.NotNull(config["includedFrameworks"]);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Runs the build stage's publish in its context (laid out once); returns the output folder, in
    /// <paramref name="work"/>, which the caller deletes.</summary>
    private string Publish(string dockerfilePath, out string work)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Tools.FindOnPath("dotnet");
        Skip.If(dotnet is null, "dotnet is not on PATH: cannot run the Dockerfiles' dotnet publish");

        var d = Dockerfile.Load(dockerfilePath);
        string directory = contexts.For(dockerfilePath, d);
        work = Directory.CreateTempSubdirectory("ringattention-publish-").FullName;
        var output = Path.Combine(work, "app");
        var command = d.PublishCommand.ToList();
        command[command.IndexOf("-o") + 1] = output;
        // No build servers: nothing of this build outlives it (and keeps the test's output pipes open).
        var result = Tools.Run(dotnet!, [.. command.Skip(1), "--disable-build-servers", "-nologo"], directory,
            TimeSpan.FromMinutes(9), env =>
            {
                // `dotnet test` leaves MSBuild's own locations in the environment; the nested build must find its own.
                foreach (var key in env.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
                {
                    env.Remove(key);
                }

                Tools.WithoutAnalyzers(env);
            });
        Assert.True(result.ExitCode == 0, result.Describe(string.Join(' ', command)));
        return output;
    }

    /// <summary>
    /// The build stages' contexts as their COPY lines lay them out (filtered by the Dockerfile's ignore file), one per
    /// distinct set of COPY lines and ignore patterns; each is the folder the stage's WORKDIR names in it.
    /// </summary>
    public sealed class BuildContexts : IDisposable
    {
        private readonly Dictionary<string, string> _byLayout = new(StringComparer.Ordinal);
        private readonly List<string> _roots = [];

        internal string For(string dockerfilePath, Dockerfile d)
        {
            var layout = string.Join('\n', d.BuildStage.Instructions.Where(i => i.Keyword is "WORKDIR" or "COPY").Select(i => $"{i.Keyword} {i.Arguments}"))
                + "\n" + Repo.ReadText(dockerfilePath + ".dockerignore");
            if (_byLayout.TryGetValue(layout, out var existing))
            {
                return existing;
            }

            string root = Directory.CreateTempSubdirectory("ringattention-context-").FullName;
            _roots.Add(root);
            var ignore = new DockerIgnore(Repo.PathOf(dockerfilePath + ".dockerignore"));
            var workdir = "/";
            foreach (var instruction in d.BuildStage.Instructions)
            {
                if (instruction.Keyword == "WORKDIR")
                {
                    workdir = instruction.Arguments.Trim();
                }
                else if (instruction.Keyword == "COPY" && !instruction.Arguments.Contains("--from", StringComparison.Ordinal))
                {
                    var words = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
                    var destination = Rooted(root, workdir, words[^1]);
                    foreach (var source in words.SkipLast(1))
                    {
                        var from = Repo.PathOf(source.TrimEnd('/'));
                        if (Directory.Exists(from))
                        {
                            CopyTree(from, destination, ignore);
                        }
                        else
                        {
                            Assert.True(File.Exists(from), $"{dockerfilePath}: COPY source {source} does not exist");
                            Directory.CreateDirectory(destination);
                            File.Copy(from, Path.Combine(destination, Path.GetFileName(from)));
                        }
                    }
                }
            }

            string directory = Rooted(root, workdir, ".");
            _byLayout[layout] = directory;
            return directory;
        }

        public void Dispose()
        {
            foreach (string root in _roots)
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    private static string Rooted(string work, string workdir, string path)
    {
        var combined = path.StartsWith('/') ? path : workdir.TrimEnd('/') + "/" + path;
        return Path.GetFullPath(Path.Combine(work, combined.TrimStart('/')));
    }

    private static void CopyTree(string from, string to, DockerIgnore ignore)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(Repo.Root, file).Replace('\\', '/');
            if (ignore.Excludes(relative))
            {
                continue;
            }

            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    /// <summary>The patterns our ignore files use: "**/NAME" (NAME at any depth) and "PATH" (from the context root),
    /// with * inside a segment; a match on a folder excludes what is under it.</summary>
    private sealed class DockerIgnore(string path)
    {
        private readonly List<Regex> patterns = File.ReadAllLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => new Regex(
                "^" + (l.StartsWith("**/", StringComparison.Ordinal) ? "(.*/)?" + Glob(l[3..]) : Glob(l)) + "(/.*)?$"))
            .ToList();

        public bool Excludes(string relativePath) => patterns.Any(p => p.IsMatch(relativePath));

        private static string Glob(string pattern) => Regex.Escape(pattern.TrimEnd('/')).Replace(@"\*", "[^/]*");
    }
}
