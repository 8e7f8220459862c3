namespace RingAttention.Client;

/// <summary>The user's state directory for ringattn (<c>$XDG_STATE_HOME/ringattn</c>, else <c>~/.local/state/ringattn</c>,
/// else under the temp directory): framework logs and an embedded cluster's sessions live under it.</summary>
public static class StateDirectory
{
    public static string Of(string child)
    {
        string? state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string root = !string.IsNullOrEmpty(state) ? state
            : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".local", "state")
            : Path.GetTempPath();
        return Path.Combine(root, "ringattn", child);
    }
}
