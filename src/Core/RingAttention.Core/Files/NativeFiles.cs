using System.Runtime.InteropServices;

namespace RingAttention.Files;

/// <summary>The two libc calls .NET has no API for: stat (device, inode, file type) and realpath.</summary>
internal static partial class NativeFiles
{
    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Stat(string path, ref byte buffer);

    /// <summary>realpath(3) with a null buffer: libc mallocs the result (freed with free, which FreeHGlobal calls on Unix).</summary>
    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial nint RealPath(string path, nint resolved);
}
