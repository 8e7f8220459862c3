using System.ComponentModel;
using RingAttention.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

/// <summary>Options of every <c>session</c> command: the cluster, and where an embedded one keeps its sessions.</summary>
public class SessionClusterSettings : ClusterSettings
{
    [CommandOption("--session-root <DIR>")]
    [Description("embedded cluster: where sessions are kept (manifest and K/V segments; a later command finds them there) (default ~/.local/state/ringattn/sessions)")]
    public string? SessionRoot { get; init; }

    /// <summary>A client on the cluster these settings name; <paramref name="files"/> are the user's files (their
    /// directories are the embedded cluster's allowed roots).</summary>
    internal async Task<ClusterConnection> ConnectAsync(IEnumerable<string?> files, CancellationToken ct)
    {
        string root = Path.GetFullPath(SessionRoot ?? StateDirectory.Of("sessions"));
        var target = ClusterTarget.Resolve(Cluster, ClusterId, Silos, TlsCertificate, TlsPassword, Token, null, Device) with { SessionRoot = root };
        var roots = files.OfType<string>().Select(f => Path.GetDirectoryName(Path.GetFullPath(f))!).ToList();
        var connection = await ClusterConnection.OpenAsync(target, this, roots, ct);
        AnsiConsole.MarkupLineInterpolated($"[grey]{connection.Description}[/]");
        return connection;
    }
}

/// <summary>Options of the commands on one session.</summary>
public class SessionSettings : SessionClusterSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("the session's id (letters, digits, '.', '_', '-')")]
    public string Id { get; init; } = "";
}
