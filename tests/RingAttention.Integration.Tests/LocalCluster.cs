using System.Diagnostics;
using System.Net;

namespace RingAttention.Integration.Tests;

/// <summary>
/// Drives scripts/local-cluster.sh, the same harness a user runs: Redis membership and one process per silo, on ports
/// and a Redis instance of this test run's own.
/// </summary>
public sealed class LocalCluster
{
    private readonly Dictionary<string, string> _environment;

    /// <param name="dataDirectory">The cluster's data directory: job files must lie under it (RINGATTN_DATA_DIR).</param>
    public LocalCluster(string stateDirectory, int portBase, int redisPort, string siloArgs, string dataDirectory)
    {
        RepositoryRoot = FindRepositoryRoot();
        StateDirectory = stateDirectory;
        PortBase = portBase;
        RedisPort = redisPort;
        _environment = new()
        {
            ["RINGATTN_CLUSTER_DIR"] = stateDirectory,
            ["RINGATTN_PORT_BASE"] = portBase.ToString(),
            ["RINGATTN_REDIS_PORT"] = redisPort.ToString(),
            ["RINGATTN_SILO_ARGS"] = siloArgs,
            ["RINGATTN_DATA_DIR"] = dataDirectory,
            ["RINGATTN_NO_BUILD"] = File.Exists(SiloDll) ? "1" : "0",
        };
    }

    public string RepositoryRoot { get; }

    public string StateDirectory { get; }

    public int PortBase { get; }

    public int RedisPort { get; }

    public string SiloDll => Path.Combine(RepositoryRoot, "src/Silo/RingAttention.Silo/bin/Release/net10.0/RingAttention.Silo.dll");

    public Task<string> StartAsync(int silos) => RunAsync("start", silos.ToString());

    public Task<string> StopAsync() => RunAsync("stop");

    public Task<string> KillAsync(int silo) => RunAsync("kill", silo.ToString());

    public Task<string> RestartAsync(int silo) => RunAsync("restart", silo.ToString());

    public Task<string> RedisKillAsync() => RunAsync("redis-kill");

    public Task<string> RedisStartAsync() => RunAsync("redis-start");

    public Task<string> RedisRestartAsync() => RunAsync("redis-restart");

    /// <summary>Empties the cluster's Redis (FLUSHALL): the membership table is gone, as after a restart without persistence.</summary>
    public async Task FlushRedisAsync()
    {
        using var cli = Process.Start("redis-cli", ["-p", RedisPort.ToString(), "flushall"])!;
        await cli.WaitForExitAsync();
    }

    /// <summary>Waits until every silo answers ready (GET /healthz/ready via the script's status).</summary>
    public async Task WaitAllReadyAsync(int silos, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            string status = await RunAsync("status");
            if (status.Split('\n').Count(l => l.EndsWith("Healthy", StringComparison.Ordinal)) == silos)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"silos not ready after {timeout}: {status}");
            }

            await Task.Delay(500);
        }
    }

    /// <summary>Sends a signal ("STOP", "CONT") to silo <paramref name="silo"/>'s process.</summary>
    public async Task SignalAsync(int silo, string signal)
    {
        using var kill = Process.Start("kill", ["-s", signal, ProcessId(silo).ToString()])!;
        await kill.WaitForExitAsync();
    }

    public bool IsAlive(int silo)
    {
        try
        {
            return !Process.GetProcessById(ProcessId(silo)).HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>Starts silo <paramref name="silo"/> again unless its process still runs (a silo declared dead exits by itself).</summary>
    public async Task EnsureRunningAsync(int silo)
    {
        if (!IsAlive(silo))
        {
            await RestartAsync(silo);
        }
    }

    public async Task<IPEndPoint[]> GatewaysAsync() => (await RunAsync("gateways")).Trim()
        .Split(',').Select(g => new IPEndPoint(IPAddress.Loopback, int.Parse(g.Split(':')[1]))).ToArray();

    public async Task<string> ClusterIdAsync() => (await RunAsync("id")).Trim();

    /// <summary>The script's <c>env</c> output: export lines for RINGATTN_CLUSTER and RINGATTN_CLUSTER_ID.</summary>
    public Task<string> EnvAsync() => RunAsync("env");

    /// <summary>Silo index of a silo address such as "S127.0.0.1:11112:123" (its silo port minus the base).</summary>
    public int IndexOf(string siloAddress) => int.Parse(siloAddress.Split(':')[1]) - 11111 - PortBase;

    /// <summary>Process id of silo <paramref name="silo"/>.</summary>
    /// <remarks>-1 while the file is being rewritten (a silo being started again).</remarks>
    public int ProcessId(int silo) => int.TryParse(File.ReadAllText(Path.Combine(StateDirectory, $"silo-{silo}.pid")).Trim(), out int pid) ? pid : -1;

    private async Task<string> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(Path.Combine(RepositoryRoot, "scripts/local-cluster.sh"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"local-cluster.sh {string.Join(' ', args)} exited {process.ExitCode}: {await error}{await output}");
        }

        return await output;
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RingAttention.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException("RingAttention.sln not found above " + AppContext.BaseDirectory);
    }
}
