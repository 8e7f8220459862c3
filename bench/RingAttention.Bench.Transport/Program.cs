using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using RingAttention.Attention;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Ring;
using RingAttention.Kernels;
using RingAttention.Tensors;

// Cross-silo K/V transport (issue 4, measurement 3): the real DataPlaneServer in one process serves K/V blocks out of a
// BlockStore, the real DataPlaneClient in another process pulls them (chunk CRCs, whole-block CRC and token checked),
// beside a plain loopback TCP copy of the same number of bytes between the same two processes in the same run.
// The Orleans control plane (the block's announcement on the ring-edge stream) carries no block bytes, so it is not
// part of the measurement: here the announcement is a line on the server process's stdin.
// Usage: dotnet run -c Release --project bench/RingAttention.Bench.Transport -- [--sizes 16,64,256] [--runs N]
//        [--warmup N] [--jsonl FILE]
// The process re-launches itself with --role server for the sending side.
if (args.Contains("--role") && Option("--role", "client") == "server")
{
    return await ServerRole.RunAsync();
}

int[] sizesMiB = Option("--sizes", "16,64,256").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
int runs = int.Parse(Option("--runs", "7"), CultureInfo.InvariantCulture);
int warmup = int.Parse(Option("--warmup", "2"), CultureInfo.InvariantCulture);
bool verbose = args.Contains("--verbose");
string? jsonl = args.Contains("--jsonl") ? Option("--jsonl", string.Empty) : null;

string device = $"{Machine.CpuModel()}, {Environment.ProcessorCount} cores";
string loadBefore = Machine.LoadAverage();
string date = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
Console.WriteLine($"Machine: {device}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}");
Console.WriteLine($"Command: dotnet run -c Release --project bench/RingAttention.Bench.Transport --{(args.Length > 0 ? " " + string.Join(' ', args) : string.Empty)}");
Console.WriteLine($"Date: {date}; {warmup} warm-up + median of {runs} transfers per size, data plane (new array per fetch, as the host-path ring loop does), loopback, loopback with a 4 MiB receive buffer, data plane into a reused buffer (FetchIntoAsync, as the device-resident ring loop does), alternated; load average before {loadBefore}");

await using var server = await ServerProcess.StartAsync(sizesMiB);
var client = new DataPlaneClient();
var rows = new List<string>();
Console.WriteLine();
Console.WriteLine("| block | data plane GB/s | loopback GB/s | ratio | data plane into reused buffer GB/s | ratio | loopback, 4 MiB SO_RCVBUF GB/s | data plane ms | loopback ms | data plane CPU ns/B | loopback CPU ns/B |");
Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
int serial = 0;
foreach (int mib in sizesMiB)
{
    long bytes = (long)mib << 20;
    byte[] sink = new byte[bytes];
    Array.Fill(sink, (byte)1); // touch the pages once: the plain copy reads into a warm, preallocated buffer
    var plane = new List<double>();
    var loop = new List<double>();
    var tuned = new List<double>();
    var reused = new List<double>();
    byte[] destination = new byte[bytes];
    Array.Fill(destination, (byte)1);
    double planeCpu = 0, loopCpu = 0; // CPU seconds of both processes together over the measured transfers
    for (int i = 0; i < warmup + runs; i++)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        string key = $"b{serial++}";
        uint crc = await server.PutAsync(key, mib);
        double serverCpu0 = await server.CpuSecondsAsync();
        double clientCpu0 = Machine.CpuSeconds();
        long faults0 = Machine.MinorFaults();
        var watch = Stopwatch.StartNew();
        byte[] got = await client.FetchAsync(server.DataEndpoint, ServerRole.Token, key, bytes, crc, CancellationToken.None);
        double planeSeconds = watch.Elapsed.TotalSeconds;
        double clientCpu1 = Machine.CpuSeconds();
        long faults = Machine.MinorFaults() - faults0;
        double serverCpu1 = await server.CpuSecondsAsync();
        double cpu0 = serverCpu0 + clientCpu0, cpu1 = serverCpu1 + clientCpu1;
        if (got.Length != bytes)
        {
            throw new InvalidOperationException("short block");
        }

        got = [];
        GC.Collect();
        double cpu2 = await server.CpuSecondsAsync() + Machine.CpuSeconds();
        watch.Restart();
        await LoopbackCopy.ReadAsync(server.RawEndpoint, sink, bytes);
        double loopSeconds = watch.Elapsed.TotalSeconds;
        double cpu3 = Machine.CpuSeconds() + await server.CpuSecondsAsync();

        // The same copy with the receive buffer the data plane client asks for (4 MiB; the kernel doubles it).
        GC.Collect();
        watch.Restart();
        await LoopbackCopy.ReadAsync(server.RawEndpoint, sink, bytes, receiveBuffer: 4 << 20);
        double tunedSeconds = watch.Elapsed.TotalSeconds;
        // The real client again, reading into a buffer it keeps (FetchIntoAsync; the ring's double receive buffers).
        GC.Collect();
        key = $"b{serial++}";
        crc = await server.PutAsync(key, mib);
        watch.Restart();
        await client.FetchIntoAsync(server.DataEndpoint, ServerRole.Token, key, destination, crc, CancellationToken.None);
        double reusedSeconds = watch.Elapsed.TotalSeconds;
        if (verbose)
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mib} MiB #{i}: data plane {planeSeconds * 1e3:F1} ms (client CPU {(clientCpu1 - clientCpu0) * 1e3:F1} ms, server CPU {(serverCpu1 - serverCpu0) * 1e3:F1} ms, client page faults {faults}), loopback {loopSeconds * 1e3:F1} ms, tuned {tunedSeconds * 1e3:F1} ms, reused {reusedSeconds * 1e3:F1} ms"));
        }

        if (i >= warmup)
        {
            tuned.Add(tunedSeconds);
            reused.Add(reusedSeconds);
            plane.Add(planeSeconds);
            loop.Add(loopSeconds);
            planeCpu += cpu1 - cpu0;
            loopCpu += cpu3 - cpu2;
        }
    }

    double planeNsPerByte = planeCpu / runs / bytes * 1e9;
    double loopNsPerByte = loopCpu / runs / bytes * 1e9;
    double planeMedian = Median(plane);
    double loopMedian = Median(loop);
    double gbps = bytes / planeMedian / 1e9;
    double loopGbps = bytes / loopMedian / 1e9;
    double tunedGbps = bytes / Median(tuned) / 1e9;
    double reusedGbps = bytes / Median(reused) / 1e9;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {mib} MiB | {gbps:F2} | {loopGbps:F2} | {gbps / loopGbps:F2} | {reusedGbps:F2} | {reusedGbps / loopGbps:F2} | {tunedGbps:F2} | {planeMedian * 1e3:F1} | {loopMedian * 1e3:F1} | {planeNsPerByte:F3} | {loopNsPerByte:F3} |"));
    rows.Add(JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["kind"] = "transport",
        ["device"] = device,
        ["date"] = date,
        ["bytes"] = bytes,
        ["gbps"] = Math.Round(reusedGbps, 3),
        ["loopback_gbps"] = Math.Round(loopGbps, 3),
        ["ratio"] = Math.Round(reusedGbps / loopGbps, 3),
        ["new_array_gbps"] = Math.Round(gbps, 3),
        ["new_array_ratio"] = Math.Round(gbps / loopGbps, 3),
        ["loopback_rcvbuf4m_gbps"] = Math.Round(tunedGbps, 3),
        ["mib"] = mib,
        ["runs"] = runs,
        ["load_average"] = loadBefore,
        ["seconds"] = Math.Round(Median(reused), 5),
        ["new_array_seconds"] = Math.Round(planeMedian, 5),
        ["loopback_seconds"] = Math.Round(loopMedian, 5),
        ["new_array_cpu_ns_per_byte"] = Math.Round(planeNsPerByte, 4),
        ["loopback_cpu_ns_per_byte"] = Math.Round(loopNsPerByte, 4),
        ["chunk_bytes"] = DataPlaneProtocol.ChunkSize,
        ["path"] = "DataPlaneServer -> DataPlaneClient.FetchIntoAsync into one reused receive buffer (the device-resident ring's receive), two processes, 127.0.0.1 TCP, CRC-32 per chunk + whole block verified; new_array_* = FetchAsync (the host-path ring's receive)",
        ["baseline"] = "plain TCP copy of the same bytes between the same two processes into a preallocated byte[]",
    }, JsonOptions.Relaxed));
}

double crcGbps = Machine.Crc32Rate();
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CRC-32 (System.IO.Hashing) on one core: {crcGbps:F1} GB/s"));
if (jsonl is not null)
{
    await File.AppendAllLinesAsync(jsonl, rows);
    Console.WriteLine($"Appended {rows.Count} lines to {jsonl}");
}

return 0;

static double Median(List<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

string Option(string name, string fallback)
{
    int at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
}

/// <summary>The sending silo's side: a BlockStore behind the real DataPlaneServer, plus a plain TCP sender.</summary>
internal static class ServerRole
{
    public const string Token = "bench-job-token-0123456789abcdef";

    public static async Task<int> RunAsync()
    {
        var store = new BlockStore();
        using var device = new ComputeDevice(new RingAttention.Kernels.Cpu.CpuAttentionBackend()); // blocks live in host memory, as on a CPU silo
        await using var plane = new DataPlaneServer(store, IPAddress.Loopback, 0, "127.0.0.1");
        plane.Start(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var raw = new TcpListener(IPAddress.Loopback, 0);
        raw.Start();
        var blocks = new Dictionary<int, (byte[] Data, KeyValueBlock Block, uint Crc)>();
        byte[] payload = [];
        _ = Task.Run(() => ServeRawAsync(raw, () => payload));
        Console.WriteLine($"ready {plane.Endpoint} 127.0.0.1:{((IPEndPoint)raw.LocalEndpoint).Port}");
        while (Console.ReadLine() is { } line)
        {
            string[] parts = line.Split(' ');
            switch (parts[0])
            {
                case "make":
                {
                    // One K/V block of the size: K = first half, V = second half of one random array (bf16-like bytes).
                    int mib = int.Parse(parts[1], CultureInfo.InvariantCulture);
                    byte[] data = new byte[(long)mib << 20];
                    new Random(mib).NextBytes(data);
                    int half = data.Length / 2;
                    int rowBytes = 8 * 128 * 2; // Hkv = 8, D = 128, bf16
                    var spans = new[] { new TokenSpan(0, half / rowBytes) };
                    var block = new KeyValueBlock(
                        new TensorRows(ElementType.BF16, 8, 128, spans, data.AsMemory(0, half)),
                        new TensorRows(ElementType.BF16, 8, 128, spans, data.AsMemory(half)));
                    blocks[mib] = (data, block, BlockChecksum.Compute(block).Whole);
                    Console.WriteLine("ok");
                    break;
                }

                case "put":
                {
                    // The sender publishes its block (what ShardGrain does before announcing it); the payload of the
                    // plain copy is the same bytes.
                    var (data, block, crc) = blocks[int.Parse(parts[2], CultureInfo.InvariantCulture)];
                    store.Put(parts[1], new StoredBlock("bench", 1, Token, ResidentBlock.Upload(device, block)));
                    payload = data;
                    Console.WriteLine($"ok {crc}");
                    break;
                }

                case "cpu":
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ok {Machine.CpuSeconds():R}"));
                    break;

                default:
                    return 0;
            }
        }

        return 0;
    }

    private static async Task ServeRawAsync(TcpListener listener, Func<byte[]> payload)
    {
        byte[] request = new byte[8];
        while (true)
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            await stream.ReadExactlyAsync(request);
            long length = BinaryPrimitives.ReadInt64LittleEndian(request);
            await stream.WriteAsync(payload().AsMemory(0, (int)length));
            client.Client.Shutdown(SocketShutdown.Send);
            await stream.ReadAtLeastAsync(request, 1, throwOnEndOfStream: false); // wait for the reader to close
        }
    }
}

/// <summary>The receiving side of the plain copy: ask for N bytes, read them into a preallocated array, nothing else.</summary>
internal static class LoopbackCopy
{
    public static async Task ReadAsync(string endpoint, byte[] sink, long bytes, int receiveBuffer = 0)
    {
        int colon = endpoint.LastIndexOf(':');
        using var client = new TcpClient();
        if (receiveBuffer > 0)
        {
            client.ReceiveBufferSize = receiveBuffer;
        }

        await client.ConnectAsync(endpoint[..colon], int.Parse(endpoint.AsSpan(colon + 1), CultureInfo.InvariantCulture));
        var stream = client.GetStream();
        byte[] request = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(request, bytes);
        await stream.WriteAsync(request);
        await stream.ReadExactlyAsync(sink.AsMemory(0, (int)bytes));
    }
}

/// <summary>The server role as a child process, driven by lines on its stdin.</summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ServerProcess(Process process, string dataEndpoint, string rawEndpoint)
    {
        _process = process;
        DataEndpoint = dataEndpoint;
        RawEndpoint = rawEndpoint;
    }

    public string DataEndpoint { get; }

    public string RawEndpoint { get; }

    public static async Task<ServerProcess> StartAsync(IEnumerable<int> sizesMiB)
    {
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("no process path");
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            // Run through `dotnet run` (not a single-file publish): the app's own dll sits in its base directory.
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, typeof(ServerProcess).Assembly.GetName().Name + ".dll"));
        }

        info.ArgumentList.Add("--role");
        info.ArgumentList.Add("server");
        var process = Process.Start(info) ?? throw new InvalidOperationException("server role did not start");
        string ready = await process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("server role exited");
        string[] parts = ready.Split(' ');
        var server = new ServerProcess(process, parts[1], parts[2]);
        foreach (int mib in sizesMiB)
        {
            await server.CommandAsync($"make {mib}");
        }

        return server;
    }

    public async Task<uint> PutAsync(string key, int mib) =>
        uint.Parse((await CommandAsync($"put {key} {mib}"))[3..], CultureInfo.InvariantCulture);

    /// <summary>User + system CPU seconds the server process has used so far.</summary>
    public async Task<double> CpuSecondsAsync() =>
        double.Parse((await CommandAsync("cpu"))[3..], CultureInfo.InvariantCulture);

    private async Task<string> CommandAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line);
        await _process.StandardInput.FlushAsync();
        string reply = await _process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException("server role exited");
        return reply.StartsWith("ok", StringComparison.Ordinal) ? reply : throw new InvalidOperationException(reply);
    }

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync();
        _process.Dispose();
    }
}

internal static class JsonOptions
{
    public static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}

internal static partial class Machine
{
    /// <summary>User + system CPU seconds of this process (getrusage, microsecond resolution).</summary>
    public static double CpuSeconds()
    {
        Span<long> usage = stackalloc long[18];
        if (GetRusage(0, ref usage[0]) != 0)
        {
            throw new InvalidOperationException("getrusage failed");
        }

        return usage[0] + usage[1] * 1e-6 + usage[2] + usage[3] * 1e-6;
    }

    /// <summary>Minor page faults of this process so far (getrusage ru_minflt).</summary>
    public static long MinorFaults()
    {
        Span<long> usage = stackalloc long[18];
        return GetRusage(0, ref usage[0]) == 0 ? usage[8] : -1;
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, ref long usage);

    public static string CpuModel()
    {
        string? line = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
            : null;
        return line is null ? RuntimeInformation.ProcessArchitecture.ToString() : line[(line.IndexOf(':') + 1)..].Trim();
    }

    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>Single-core CRC-32 rate over 64 MiB, for reading the data plane's cost.</summary>
    public static double Crc32Rate()
    {
        byte[] data = new byte[64 << 20];
        new Random(7).NextBytes(data);
        Crc32.HashToUInt32(data);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
        {
            Crc32.HashToUInt32(data);
        }

        return 5.0 * data.Length / watch.Elapsed.TotalSeconds / 1e9;
    }
}
