using RingAttention.Cli.Reports;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

/// <summary><c>ringattn session drop</c>: pages back to the pools, storage deleted.</summary>
public sealed class SessionDropCommand : AsyncCommand<SessionSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionSettings settings, CancellationToken cancellationToken)
    {
        await using var connection = await settings.ConnectAsync([], cancellationToken);
        var status = await connection.Client.GetSession(settings.Id).DropAsync();
        AnsiConsole.MarkupLineInterpolated($"[green]dropped[/] session {settings.Id}");
        CliOutput.Result(status, CliJson.Default.SessionStatus);
        return CliErrors.Ok;
    }
}
