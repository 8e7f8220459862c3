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

    /// <summary>
    /// Starts the CLI in the background (a silo) and returns once its output shows <paramref name="whenSeen"/>; the
    /// caller stops it with <see cref="Running.StopAsync"/>.
    /// </summary>
    public static async Task<Running> StartAsync(string whenSeen, params string[] args)
    {
        var process = Start(args);
        var running = new Running(process);
        await running.WaitForAsync(whenSeen);
        return running;
    }

    /// <summary>A CLI process still running, with everything it printed so far.</summary>
    public sealed class Running : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly System.Text.StringBuilder _output = new();
        private readonly List<(string Text, TaskCompletionSource Seen)> _waits = [];

        public Running(Process process)
        {
            _process = process;
            process.OutputDataReceived += OnLine;
            process.ErrorDataReceived += OnLine;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public async Task WaitForAsync(string text)
        {
            var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_output)
            {
                if (_output.ToString().Contains(text, StringComparison.Ordinal))
                {
                    return;
                }

                _waits.Add((text, seen));
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await Task.WhenAny(seen.Task, _process.WaitForExitAsync(timeout.Token));
            if (!seen.Task.IsCompleted)
            {
                throw new Xunit.Sdk.XunitException($"the CLI exited before printing '{text}':\n{Output}");
            }
        }

        /// <summary>Ctrl+C, then the exit code.</summary>
        public async Task<int> StopAsync()
        {
            if (!_process.HasExited)
            {
                using var kill = Process.Start("kill", ["-s", "INT", _process.Id.ToString()])!;
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await _process.WaitForExitAsync(timeout.Token);
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private void OnLine(object? sender, DataReceivedEventArgs e)
        {
            lock (_output)
            {
                _output.AppendLine(e.Data);
                foreach (var (text, seen) in _waits.Where(w => e.Data?.Contains(w.Text, StringComparison.Ordinal) == true).ToList())
                {
                    seen.TrySetResult();
                    _waits.Remove((text, seen));
                }
            }
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
