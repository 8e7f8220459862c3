using RingAttention.Attention;
using RingAttention.Files;
using RingAttention.Grains.Configuration;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Keeps job files inside the configured roots. Both the path and the roots are compared after resolving "..", "."
/// and every symbolic link on the way (realpath), so "/data/../etc/passwd", a link in a root pointing out, and a
/// link to a directory outside all resolve to where they really are and are refused. No roots means no files:
/// a silo serves file jobs only from directories its operator named.
/// </summary>
public static class PathConfinement
{
    public static void Check(string field, string path, IReadOnlyList<string> roots)
    {
        if (roots.Count == 0)
        {
            throw new SpecValidationException(field,
                $"this cluster allows no job files: no directory is configured ({RingAttentionOptions.SectionName}:{nameof(RingAttentionOptions.AllowedRoots)})");
        }

        string resolved = FileIdentity.ResolvedPath(path);
        foreach (string root in roots)
        {
            string rootResolved = Path.TrimEndingDirectorySeparator(FileIdentity.ResolvedPath(root)) + Path.DirectorySeparatorChar;
            if (resolved.StartsWith(rootResolved, StringComparison.Ordinal))
            {
                return;
            }
        }

        // The message names the rule only: nothing about whether the path exists or what it holds.
        throw new SpecValidationException(field, $"path '{path}' is outside the allowed roots ({string.Join(", ", roots)})");
    }
}
