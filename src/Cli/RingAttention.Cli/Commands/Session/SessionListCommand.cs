using RingAttention.Cli.Reports;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

/// <summary><c>ringattn session list</c>: the sessions on the cluster's session storage.</summary>
public sealed class SessionListCommand : AsyncCommand<SessionClusterSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionClusterSettings settings, CancellationToken cancellationToken)
    {
        await using var connection = await settings.ConnectAsync([], cancellationToken);
        var ids = await connection.Client.ListSessionsAsync(cancellationToken);
        CliOutput.Human(() =>
        {
            AnsiConsole.WriteLine(ids.Count == 0 ? "no sessions" : $"{ids.Count} session{(ids.Count == 1 ? "" : "s")}:");
            foreach (string id in ids)
            {
                AnsiConsole.WriteLine(id);
            }
        });
        CliOutput.Result(new SessionListReport(ids), CliJson.Default.SessionListReport);
        return CliErrors.Ok;
    }
}
