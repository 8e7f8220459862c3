using System.Diagnostics;

namespace RingAttention.Cli.Tests;

/// <summary>Runs <c>ringattn</c> as its own process, the way a user does, and captures what it prints.</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}:\n{Output}";
    }

    public static async Task<Result> RunAsync(params string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "ringattn.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Spectre.Console wraps at the terminal width; a wide fake terminal keeps messages on one line for asserts.
        start.Environment["COLUMNS"] = "400";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout + await stderr);
    }
}
