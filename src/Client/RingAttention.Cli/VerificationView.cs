using RingAttention.Client.Verification;
using Spectre.Console;

namespace RingAttention.Cli;

public static class VerificationView
{
    /// <summary>Prints the report; returns the exit code (0 passed, 4 failed).</summary>
    public static int Print(VerificationReport report)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"checked {report.RowsChecked} tokens x {report.Heads} heads ({report.DType}) against a float64 reference: max |o - ref| / max|v| = {report.MaxOutputError:E2} (limit {report.Tolerance.Output:E1}), max |lse - ref| = {report.MaxLseError:E2}");
        if (report.Passed)
        {
            AnsiConsole.MarkupLine("[green]verification passed[/]");
            return CliErrors.Ok;
        }

        AnsiConsole.MarkupLineInterpolated($"[red]verification failed:[/] {report.Failure}");
        return CliErrors.VerificationFailed;
    }
}
