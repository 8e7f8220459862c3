using System.Diagnostics;

namespace RingAttention.Cli.Tests;

/// <summary>Runs <c>ringattn</c> as its own process, the way a user does, and captures what it prints.</summary>
public static class CliProcess
{
    /// <summary>What a run printed: <see cref="Stdout"/> and <see cref="Stderr"/> apart (for --json), and both.</summary>
    public sealed record Result(int ExitCode, string Stdout, string Stderr = "")
    {
        public string Output => Stdout + Stderr;

        public override string ToString() => $"exit {ExitCode}:\n{Output}";
    }

    public static Task<Result> RunAsync(params string[] args) => RunProcessAsync(Start(args));

    /// <summary>Runs the CLI with extra environment variables (RINGATTN_CLUSTER, ...).</summary>
    public static Task<Result> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunProcessAsync(Start(args, environment: environment));

    /// <summary>Runs another .NET program of the repository (a sample) the same way.</summary>
    public static Task<Result> RunDotnetAsync(string dll, params string[] args) => RunProcessAsync(Start(args, dll));

    private static async Task<Result> RunProcessAsync(Process started)
    {
        using var process = started;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// Runs the CLI until its output shows <paramref name="whenSeen"/>, then sends it <paramref name="signal"/>
    /// ("INT" for Ctrl+C, "TERM"); returns the result and the seconds from the signal to the exit.
    /// </summary>
    public static async Task<(Result Result, double SecondsToExit)> RunInterruptedAsync(string signal, string whenSeen, params string[] args)
    {
        using var process = Start(args);
        var output = new System.Text.StringBuilder();
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object? _, DataReceivedEventArgs e)
        {
            lock (output)
            {
                output.AppendLine(e.Data);
                if (e.Data?.Contains(whenSeen, StringComparison.Ordinal) == true)
                {
                    seen.TrySetResult();
                }
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await Task.WhenAny(seen.Task, process.WaitForExitAsync(timeout.Token));
        if (!seen.Task.IsCompleted)
        {
            await process.WaitForExitAsync(timeout.Token);
            lock (output)
            {
                throw new Xunit.Sdk.XunitException($"the CLI exited ({process.ExitCode}) before printing '{whenSeen}':\n{output}");
            }
        }

        using (var kill = Process.Start("kill", ["-s", signal, process.Id.ToString()])!)
        {
            await kill.WaitForExitAsync(timeout.Token);
        }

        var clock = Stopwatch.StartNew();
        await process.WaitForExitAsync(timeout.Token);
        double seconds = clock.Elapsed.TotalSeconds;
        lock (output)
        {
            return (new Result(process.ExitCode, output.ToString()), seconds);
        }
    }

    private static Process Start(string[] args, string? dll = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        string cli = dll ?? Path.Combine(AppContext.BaseDirectory, "ringattn.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Spectre.Console wraps at the terminal width; a wide fake terminal keeps messages on one line for asserts.
        start.Environment["COLUMNS"] = "400";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }
}
