using System.Text.RegularExpressions;
using RingAttention.Attention;

namespace RingAttention.Grains.Sessions;

/// <summary>A session id names a directory under the session root, so it is a plain name: no separators, no "..".</summary>
public static partial class SessionIds
{
    public static void Check(string id)
    {
        if (!Pattern().IsMatch(id))
        {
            throw new SpecValidationException("session", $"session id '{id}' must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex Pattern();
}
