using System.Runtime.InteropServices;

namespace RingAttention.Files;

/// <summary>
/// The identity of a file as the kernel sees it: (device, inode) of the final target, which is the same for every
/// alias of a file (a symbolic link to it or to a directory above it, a hard link, a bind mount). Comparing path
/// strings misses all of those: `--inputs dlink/in.safetensors --output d/in.safetensors` with dlink → d once
/// replaced the input with the output. Linux only (the silos run there); elsewhere the resolved full path stands in.
/// </summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode, FileKind Kind)
{
    /// <summary>Stats <paramref name="path"/> following links; <see cref="FileKind.Missing"/> when nothing is there
    /// or it cannot be reached (the caller then treats it as absent: it is not a file the job may use).</summary>
    public static FileIdentity Of(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            var info = new FileInfo(path);
            return new(0, (ulong)StringComparer.Ordinal.GetHashCode(ResolvedPath(path)),
                Directory.Exists(path) ? FileKind.Directory : info.Exists ? FileKind.Regular : FileKind.Missing);
        }

        // struct stat on glibc x86_64 and aarch64 begins with st_dev and st_ino (both 8 bytes); st_mode sits at
        // byte 24 on x86_64 and 16 on aarch64. 256 bytes covers the whole struct on both.
        Span<byte> buffer = stackalloc byte[256];
        if (NativeFiles.Stat(path, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            return new(0, 0, FileKind.Missing);
        }

        ulong device = MemoryMarshal.Read<ulong>(buffer);
        ulong inode = MemoryMarshal.Read<ulong>(buffer[8..]);
        uint mode = MemoryMarshal.Read<uint>(buffer[(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16)..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            _ => FileKind.Other,
        };
        return new(device, inode, kind);
    }

    public bool Exists => Kind != FileKind.Missing;

    /// <summary>True when both name the same existing file.</summary>
    public bool SameFileAs(FileIdentity other) => Exists && other.Exists && Device == other.Device && Inode == other.Inode;

    /// <summary>
    /// The absolute path with "..", "." and every symbolic link resolved (realpath). For a path that does not exist yet
    /// (an output), its deepest existing directory is resolved and the rest appended.
    /// </summary>
    public static string ResolvedPath(string path)
    {
        string full = Path.GetFullPath(path);
        string rest = "";
        string current = full;
        while (true)
        {
            if (RealPath(current) is string real)
            {
                return rest.Length == 0 ? real : Path.Join(real, rest);
            }

            string? parent = Path.GetDirectoryName(current);
            if (parent is null)
            {
                return full;
            }

            rest = rest.Length == 0 ? Path.GetFileName(current) : Path.Join(Path.GetFileName(current), rest);
            current = parent;
        }
    }

    private static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return File.Exists(path) || Directory.Exists(path) ? Path.GetFullPath(path) : null;
        }

        nint resolved = NativeFiles.RealPath(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Marshal.FreeHGlobal(resolved);
        }
    }
}
