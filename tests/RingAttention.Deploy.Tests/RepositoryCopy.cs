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

/// <summary>
/// The copy the README's commands and the release's trimmed publish build in, one after the other. Measured on the
/// 2-core CI machine: in copies of their own they ran side by side for 225 and 325 s, each compiling every project
/// and slowing the other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RepositoryCopyCollection : ICollectionFixture<RepositoryCopy>
{
    public const string Name = "repository copy";
}
