using System.Security.Cryptography;
using System.Text;

namespace RingAttention.Contracts.Security;

/// <summary>
/// The shared secret a client presents on every grain call (Silo:ClusterToken). It travels in the call's
/// RequestContext, so on a TLS cluster it is encrypted with the call; the silo checks it on every call that comes
/// from a client and removes it before the grain runs, so it never travels further inside the cluster.
/// </summary>
public static class ClusterToken
{
    public const string RequestContextKey = "ringattention.token";

    /// <summary>Environment variable the CLI reads when --token is not given.</summary>
    public const string EnvironmentVariable = "RINGATTN_TOKEN";

    /// <summary>Constant-time comparison: how long a refusal takes says nothing about how much of the token was right.</summary>
    public static bool Matches(string? presented, string expected) =>
        presented is not null &&
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));
}
