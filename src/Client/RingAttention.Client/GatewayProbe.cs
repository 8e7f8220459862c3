using System.Net;
using System.Net.Sockets;

namespace RingAttention.Client;

/// <summary>
/// Why a client could not join: after Orleans gives up, one plain TCP connect per gateway tells "nothing listens
/// there" (wrong address, cluster down) from "something listens but did not take us" (wrong cluster id, TLS or
/// not, another program on the port).
/// </summary>
public static class GatewayProbe
{
    public static async Task<string> DescribeAsync(IReadOnlyList<IPEndPoint> gateways, TimeSpan timeout)
    {
        var answers = await Task.WhenAll(gateways.Select(async gateway =>
        {
            using var socket = new Socket(gateway.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await socket.ConnectAsync(gateway, deadline.Token);
                return (gateway, Listening: true, Reason: "");
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                return (gateway, Listening: false, Reason: e is SocketException s ? s.SocketErrorCode.ToString() : "no answer");
            }
        }));
        var listening = answers.Where(a => a.Listening).Select(a => a.gateway.ToString()).ToList();
        var silent = answers.Where(a => !a.Listening).Select(a => $"{a.gateway} ({a.Reason})").ToList();
        return listening.Count == 0
            ? $"nothing accepts connections at {string.Join(", ", silent)}"
            : $"{string.Join(", ", listening)} accept connections but did not admit this client: the cluster id is probably wrong " +
              "(or the cluster uses TLS and no --tls-cert was given)" + (silent.Count > 0 ? $"; nothing at {string.Join(", ", silent)}" : "");
    }
}
