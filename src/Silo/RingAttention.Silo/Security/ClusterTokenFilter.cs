using RingAttention.Grains.Security;

namespace RingAttention.Silo.Security;

/// <summary>
/// Refuses every grain call from a client (anything connected through a gateway) that does not carry the cluster
/// token. Calls between silos are not checked: a peer silo is already a member (and, with TLS, holds the cluster
/// certificate). The token is removed after the check so it is not forwarded with the grain's own calls.
/// </summary>
public sealed class ClusterTokenFilter(string token) : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.SourceId is { } source && GrainTypePrefix.IsClient(source))
        {
            var presented = RequestContext.Get(ClusterToken.RequestContextKey) as string;
            RequestContext.Remove(ClusterToken.RequestContextKey);
            if (!ClusterToken.Matches(presented, token))
            {
                throw new ClusterAuthenticationException(presented is null
                    ? $"the cluster requires a token: pass --token or set {ClusterToken.EnvironmentVariable}"
                    : "the cluster refused the token");
            }
        }

        return context.Invoke();
    }
}
