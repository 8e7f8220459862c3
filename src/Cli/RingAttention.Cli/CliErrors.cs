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

    /// <summary>No gateway of the named cluster answered in time (wrong address or cluster id, or the cluster is down).</summary>
    public const int Unreachable = 6;

    /// <summary>Interrupted (SIGINT/SIGTERM): the job was cancelled on the cluster. 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;

    /// <param name="args">The command line: the "did you mean" of an unknown option, and which command's flags errors name.</param>
    public static async Task<int> RunAsync(Func<Task<int>> run, IReadOnlyList<string>? args = null)
    {
        args ??= [];
        string? command = args.FirstOrDefault(a => !a.StartsWith('-'));
        try
        {
            return await run();
        }
        catch (SpecValidationException e)
        {
            var (name, message) = FlagNames.For(command, e.Field, e.Reason);
            return Fail($"{name}: {message}", name, BadInput);
        }
        catch (CommandParseException e)
        {
            return Fail(e.Message + OptionSuggestion.For(e.Message, args), null, BadInput);
        }
        catch (CommandRuntimeException e)
        {
            return Fail(e.Message, null, BadInput);
        }
        catch (RingJobFailedException e) when (e.Status.State == Contracts.JobState.Cancelled)
        {
            return Fail("cancelled" + (e.Status.Error is string why ? ": " + why : ""), null, Cancelled, "yellow");
        }
        catch (Contracts.Security.ClusterAuthenticationException e)
        {
            return Fail($"--token: {e.Message}", "--token", NotAuthorized);
        }
        catch (RingJobFailedException e)
        {
            return Fail(e.Message, null, JobFailed);
        }
        catch (ClusterUnreachableException e)
        {
            return Fail(e.Message, "--cluster", Unreachable);
        }
        catch (OperationCanceledException)
        {
            return Fail("cancelled", null, Cancelled, "yellow");
        }
        catch (Exception e) when (e is OrleansException || Contracts.RingResilience.IsTransient(e))
        {
            return Fail($"lost the cluster: {e.Message}", null, Unexpected);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TimeoutException)
        {
            return Fail(e.Message, null, Unexpected);
        }
    }

    /// <summary>One line on the console (stderr with --json, whose stdout gets the same as a JSON document).</summary>
    private static int Fail(string message, string? field, int exitCode, string colour = "red")
    {
        if (colour == "red")
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {message}");
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"[{colour}]{message}[/]");
        }

        CliOutput.Result(new Reports.ErrorReport(message, field, exitCode), Reports.CliJson.Default.ErrorReport);
        return exitCode;
    }
}
