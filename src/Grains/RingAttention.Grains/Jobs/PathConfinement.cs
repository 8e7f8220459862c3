using RingAttention.Attention;

namespace RingAttention.Grains.Jobs;

/// <summary>Keeps job files inside the configured roots: "/data/../etc/passwd" resolves to /etc/passwd and is refused.</summary>
public static class PathConfinement
{
    public static void Check(string field, string path, IReadOnlyList<string> roots)
    {
        if (roots.Count == 0)
        {
            return;
        }

        string full = Path.GetFullPath(path);
        foreach (string root in roots)
        {
            string rootFull = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
            if (full.StartsWith(rootFull, StringComparison.Ordinal) && !IsLinkOutside(full, rootFull))
            {
                return;
            }
        }

        throw new SpecValidationException(field, $"path '{path}' is outside the allowed roots ({string.Join(", ", roots)})");
    }

    /// <summary>A symbolic link inside a root may point out of it; resolve the final target of existing files.</summary>
    private static bool IsLinkOutside(string full, string rootFull)
    {
        var info = new FileInfo(full);
        if (!info.Exists || info.LinkTarget is null)
        {
            return false;
        }

        string? target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        return target is null || !target.StartsWith(rootFull, StringComparison.Ordinal);
    }
}
