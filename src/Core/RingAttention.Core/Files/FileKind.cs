namespace RingAttention.Files;

/// <summary>What a path names on disk, after every symbolic link on the way is resolved.</summary>
public enum FileKind
{
    Missing,
    Regular,
    Directory,
    /// <summary>A FIFO, socket or device: reading one can block forever or never end, so no job may use it.</summary>
    Other,
}
