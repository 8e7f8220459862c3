namespace RingAttention.Deploy.Tests;

/// <summary>
/// The repository's files as git sees them (tracked, and new files not ignored), copied once to a temp directory
/// without build outputs: what a new user has after `git clone`. Tests that build there (a RID-specific publish, the
/// README's commands) cannot rewrite the outputs other tests are running from.
/// </summary>
public sealed class RepositoryCopy : IDisposable
{
    public RepositoryCopy()
    {
        Root = Directory.CreateTempSubdirectory("ringattention-clone-").FullName;
        var files = Tools.Run("git", ["ls-files", "-co", "--exclude-standard", "-z"], Repo.Root, TimeSpan.FromMinutes(1));
        if (files.ExitCode != 0)
        {
            throw new InvalidOperationException(files.Describe("git ls-files"));
        }

        foreach (string relative in files.StdOut.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            string source = Repo.PathOf(relative);
            if (!File.Exists(source))
            {
                continue;
            }

            string target = Path.Combine(Root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(target, File.GetUnixFileMode(source));
            }
        }
    }

    public string Root { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>The copy the release's trimmed publish builds in.</summary>
[CollectionDefinition(Name)]
public sealed class RepositoryCopyCollection : ICollectionFixture<RepositoryCopy>
{
    public const string Name = "repository copy";
}

/// <summary>
/// A copy of its own for the README's commands, so that they build beside the release's publish rather than after it:
/// the trimming and the single-file compression at its end run on one core, and CI has two (in one copy they ran
/// 4.6 + 1.6 minutes back to back, the longest chain of the deploy tests).
/// </summary>
[CollectionDefinition(Name)]
public sealed class ReadmeCopyCollection : ICollectionFixture<RepositoryCopy>
{
    public const string Name = "readme copy";
}
