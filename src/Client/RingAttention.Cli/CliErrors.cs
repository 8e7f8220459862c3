using RingAttention.Attention;
using RingAttention.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli;

/// <summary>Exit codes, and user errors printed as one line without a stack trace.</summary>
public static class CliErrors
{
    public const int Ok = 0;
    public const int Unexpected = 1;
    public const int BadInput = 2;
    public const int JobFailed = 3;
    public const int VerificationFailed = 4;

    /// <summary>The cluster refused this client (no or wrong cluster token).</summary>
    public const int NotAuthorized = 5;

    /// <summary>Interrupted (SIGINT/SIGTERM): the job was cancelled on the cluster. 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;

    /// <param name="args">The command line, for the "did you mean" of an unknown option.</param>
    public static async Task<int> RunAsync(Func<Task<int>> run, IReadOnlyList<string>? args = null)
    {
        try
        {
            return await run();
        }
        catch (SpecValidationException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Field}: {e.Reason}");
            return BadInput;
        }
        catch (CommandParseException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}{OptionSuggestion.For(e.Message, args ?? [])}");
            return BadInput;
        }
        catch (CommandRuntimeException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return BadInput;
        }
        catch (RingJobFailedException e) when (e.Status.State == Grains.JobState.Cancelled)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]cancelled[/]{(e.Status.Error is string why ? ": " + why : "")}");
            return Cancelled;
        }
        catch (Grains.Security.ClusterAuthenticationException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] token: {e.Message}");
            return NotAuthorized;
        }
        catch (RingJobFailedException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return JobFailed;
        }
        catch (OperationCanceledException)
        {
            AnsiConsole.MarkupLine("[yellow]cancelled[/]");
            return Cancelled;
        }
        catch (Exception e) when (e is OrleansException || Grains.RingResilience.IsTransient(e))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] lost the cluster: {e.Message}");
            return Unexpected;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TimeoutException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return Unexpected;
        }
    }
}
