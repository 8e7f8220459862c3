using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Removes temp outputs (<c>.NAME.JOB.ATTEMPT.partial</c>) that no process holds any more: left by a killed embedded
/// CLI, a silo that died while creating one, or a disk that filled up. A live attempt's temp file is always held open by
/// its coordinator (and its shards), so "nobody holds it" is exactly "abandoned"; files younger than
/// <see cref="MinimumAge"/> are skipped to stay clear of one being created this instant.
/// </summary>
public static class StalePartials
{
    public static readonly TimeSpan MinimumAge = TimeSpan.FromSeconds(30);

    /// <summary>Temp outputs of <paramref name="outputPath"/> in its directory (run before a job writes there).</summary>
    public static int SweepBeside(string outputPath) =>
        Sweep(Path.GetDirectoryName(Path.GetFullPath(outputPath))!, $".{Path.GetFileName(outputPath)}.*.partial", depth: 0);

    /// <summary>Every temp output under <paramref name="root"/>, <paramref name="depth"/> directories deep (silo start-up).</summary>
    public static int Sweep(string root, string pattern = ".*.partial", int depth = 4)
    {
        if (!Directory.Exists(root))
        {
            return 0;
        }

        var options = new EnumerationOptions
        {
            RecurseSubdirectories = depth > 0,
            MaxRecursionDepth = depth,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.ReparsePoint,
        };
        int removed = 0;
        var youngest = DateTime.UtcNow - MinimumAge;
        foreach (string file in Directory.EnumerateFiles(root, pattern, options))
        {
            if (File.GetLastWriteTimeUtc(file) < youngest && SafetensorsSharedOutput.RemoveIfAbandoned(file))
            {
                removed++;
            }
        }

        return removed;
    }
}
