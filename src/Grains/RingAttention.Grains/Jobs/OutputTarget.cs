using RingAttention.Attention;
using RingAttention.Files;
using RingAttention.Tensors;

namespace RingAttention.Grains.Jobs;

/// <summary>
/// Checks, before any work is scheduled, that a job's output can be written and replaces nothing it must not: not
/// the input (by file identity, whatever alias names it), not a directory or device, not a file that RingAttention
/// did not write unless the submitter asked to overwrite, and only where a file can be created and the disk has room.
/// </summary>
public static class OutputTarget
{
    public static void CheckPath(JobSpec spec)
    {
        if (string.IsNullOrWhiteSpace(spec.OutputPath))
        {
            throw new SpecValidationException("output", "an output path is required");
        }

        string? directory = Path.GetDirectoryName(Path.GetFullPath(spec.OutputPath));
        if (directory is null || FileIdentity.Of(directory).Kind != FileKind.Directory)
        {
            throw new SpecValidationException("output", $"the directory of output '{spec.OutputPath}' does not exist");
        }

        var output = FileIdentity.Of(spec.OutputPath);
        switch (output.Kind)
        {
            case FileKind.Directory:
                throw new SpecValidationException("output", $"output '{spec.OutputPath}' is a directory; give a file name");
            case FileKind.Other:
                throw new SpecValidationException("output", $"output '{spec.OutputPath}' is not a regular file (a FIFO, socket or device)");
        }

        if ((spec.InputPath is not null && output.SameFileAs(FileIdentity.Of(spec.InputPath)))
            || (spec.QueriesPath is not null && output.SameFileAs(FileIdentity.Of(spec.QueriesPath))))
        {
            throw new SpecValidationException("output", $"output '{spec.OutputPath}' is the input file (under another name); it would be destroyed");
        }

        if (output.Exists && !spec.Overwrite && !IsRingAttentionOutput(spec.OutputPath))
        {
            throw new SpecValidationException("output",
                $"output '{spec.OutputPath}' exists and is not a RingAttention output; pass --force (JobSpec.Overwrite) to replace it");
        }
    }

    /// <summary>
    /// Moves a finished attempt's temp file onto the output, checking the target again first: between submit and
    /// commit the output name may have become an alias of the input, or someone else's file.
    /// </summary>
    public static void Commit(JobSpec spec, string partialPath)
    {
        CheckPath(spec);
        SafetensorsSharedOutput.Commit(partialPath, spec.OutputPath);
    }

    /// <summary>Creates and removes a probe file beside the output, and compares the output's size with the free space.</summary>
    public static void CheckWritable(JobSpec spec, long outputBytes)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(spec.OutputPath))!;
        string probe = Path.Combine(directory, $".ringattn-probe-{Guid.NewGuid():N}");
        try
        {
            using (File.Open(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
            }

            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpecValidationException("output", $"cannot create files in the directory of output '{spec.OutputPath}' (not writable)");
        }

        long free = FreeBytes(directory);
        if (free >= 0 && outputBytes > free)
        {
            throw new SpecValidationException("output",
                $"the output needs {JobMemory.Format(outputBytes)} but its file system has {JobMemory.Format(free)} free");
        }
    }

    /// <summary>Bytes of the output file: o [T, Hq, D] in the input dtype, lse [Hq, T] F32, and a header page.</summary>
    public static long Bytes(JobSpec spec) =>
        ((long)spec.Queries * spec.Heads * spec.HeadDim * spec.ComputeType.Size()) + ((long)spec.Heads * spec.Queries * sizeof(float)) + 4096;

    private static long FreeBytes(string directory)
    {
        try
        {
            return new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return -1;
        }
    }

    private static bool IsRingAttentionOutput(string path)
    {
        try
        {
            using var file = SafetensorsFile.Open(path, "output");
            return OutputMetadata.IsOurs(file.Header.Metadata);
        }
        catch (SpecValidationException)
        {
            return false;
        }
    }
}
