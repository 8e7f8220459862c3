using System.Diagnostics;

namespace RingAttention.Cli.Tests;

/// <summary>
/// The Python client (clients/python, package ringattention) by its own pytest suite, against a real silo process the
/// suite starts with this build's ringattn (`ringattn silo --http-port`). Debian's python3 with pytest, numpy and
/// requests (.ci/run installs them); torch, where installed, adds the bfloat16 case.
/// </summary>
public sealed class PythonClientTests
{
    [Fact]
    public async Task Pytest_AgainstARealSilo_Passes()
    {
        string python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        string client = Path.Combine(RepositoryRoot(), "clients", "python");
        var start = new ProcessStartInfo(python) { WorkingDirectory = client, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["RINGATTN_CMD"] = $"dotnet {Path.Combine(AppContext.BaseDirectory, "ringattn.dll")}";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        string output = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, $"pytest exited {process.ExitCode} (CI installs python3-pytest, python3-numpy and python3-requests):\n{output}");
        Assert.Matches(@"\d+ passed", output);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RingAttention.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no RingAttention.sln above {AppContext.BaseDirectory}");
    }
}
