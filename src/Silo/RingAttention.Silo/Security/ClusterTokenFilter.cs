using RingAttention.Contracts.Security;

namespace RingAttention.Silo.Security;

/// <summary>
/// Refuses every call from a client to a RingAttention grain (jobs, shards, admission) that does not carry the
/// cluster token. Calls from grains are not checked: a peer silo is already a member (and, with TLS, holds the
/// cluster certificate). Orleans' own system grains are left alone: a silo's runtime calls them as a "client" too
/// (its membership table, at start), and none of them reads or writes job files. The token is removed after the
/// check so it is not forwarded with the grain's own calls.
/// </summary>
public sealed class ClusterTokenFilter(string token) : IIncomingGrainCallFilter
{
    private static readonly System.Reflection.Assembly Guarded = typeof(Contracts.IJobCoordinatorGrain).Assembly;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (context.SourceId is { } source && GrainTypePrefix.IsClient(source) && context.InterfaceMethod?.DeclaringType?.Assembly == Guarded)
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
