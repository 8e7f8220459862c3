using RingAttention.Cli.Reports;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands.Session;

/// <summary><c>ringattn session stats</c>: shape, length, and every shard's pages.</summary>
public sealed class SessionStatsCommand : AsyncCommand<SessionSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SessionSettings settings, CancellationToken cancellationToken)
    {
        await using var connection = await settings.ConnectAsync([], cancellationToken);
        var status = await connection.Client.GetSession(settings.Id).StatsAsync(cancellationToken);
        if (!status.Exists)
        {
            throw new Attention.SpecValidationException("session", $"there is no session '{settings.Id}' (`ringattn session list` shows those there are)");
        }

        SessionReport.Print("session", status);
        CliOutput.Result(status, CliJson.Default.SessionStatus);
        return CliErrors.Ok;
    }
}
