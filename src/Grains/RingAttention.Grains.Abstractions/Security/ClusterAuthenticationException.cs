namespace RingAttention.Contracts.Security;

/// <summary>A client call the cluster refused because it carried no cluster token or the wrong one.</summary>
[GenerateSerializer]
[Alias("RingAttention.ClusterAuthenticationException")]
public sealed class ClusterAuthenticationException : Exception
{
    public ClusterAuthenticationException()
    {
    }

    public ClusterAuthenticationException(string message)
        : base(message)
    {
    }

    public ClusterAuthenticationException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
