using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RingAttention.Client;
using RingAttention.Contracts.Security;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.Devices;
using Microsoft.AspNetCore.Hosting;
using RingAttention.Silo.Api;
using RingAttention.Silo.Hosting;

namespace RingAttention.Silo;

/// <summary>Settings of an in-process cluster.</summary>
public sealed class EmbeddedClusterOptions
{
    /// <summary>Silos with no --silos: three on a CPU, to exercise the data plane.</summary>
    public const int DefaultSilos = 3;

    /// <summary>
    /// Silos to start. <value>Default (null): <see cref="DefaultSilos"/>, or one when the process has several devices
    /// (one silo owning every GPU hands blocks device to device; silos in one process would pass them through TCP).</value>
    /// </summary>
    public int? Silos { get; set; }

    /// <summary>"auto" or "cpu". <value>Default "auto".</value></summary>
    public string Device { get; set; } = "auto";

    /// <summary>
    /// Where the silos' and the client's framework logs go (e.g. <c>FileLog.Configure</c>). <value>Default null:
    /// nowhere; an embedded cluster does not write to its host program's console.</value>
    /// </summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>Applied to every silo's ring options (limits, timeouts, threads).</summary>
    public Action<RingAttentionOptions>? Configure { get; set; }

    /// <summary>The cluster certificate (PKCS#12) when silos and the client must use TLS. <value>Default null: no TLS.</value></summary>
    public string? TlsCertificatePath { get; set; }

    public string? TlsCertificatePassword { get; set; }

    /// <summary>Directories job files may lie in (every silo's RingAttention:AllowedRoots). The CLI names the directories of
    /// the files the user gave. <value>Default empty: no file jobs.</value></summary>
    public IReadOnlyList<string> AllowedRoots { get; set; } = [];

    /// <summary>A token every client call must carry (Silo:ClusterToken); the embedded client sends it.
    /// <value>Default null: none (the silos listen on loopback only).</value></summary>
    public string? ClusterToken { get; set; }

    /// <summary>Serve the HTTP job API (<see cref="Api.JobApi"/>) from every silo on a loopback port
    /// (<see cref="EmbeddedCluster.HttpEndpoints"/>). <value>Default false.</value></summary>
    public bool HttpApi { get; set; }
}

/// <summary>
/// N real Orleans silos in this process, on loopback TCP ports, joined by development clustering, plus a client
/// connected through their gateways. The silos share the process's compute devices: one CPU is one device, and on a
/// host with several GPUs one silo owns them all by default (hand-offs between its devices never leave the GPUs).
/// </summary>
public sealed class EmbeddedCluster : IAsyncDisposable
{
    private readonly List<IHost> _silos;
    private readonly DeviceSet _devices;

    private EmbeddedCluster(List<IHost> silos, DeviceSet devices, string deviceReason, RingAttentionClient client, IReadOnlyList<SiloHostOptions> hosts)
    {
        DeviceReason = deviceReason;
        _silos = silos;
        _devices = devices;
        Client = client;
        Hosts = hosts;
    }

    public RingAttentionClient Client { get; }

    /// <summary>Each silo's ports.</summary>
    public IReadOnlyList<SiloHostOptions> Hosts { get; }

    /// <summary>Each silo's HTTP job API (with <see cref="EmbeddedClusterOptions.HttpApi"/>; empty otherwise): https when
    /// the cluster has a certificate.</summary>
    public IReadOnlyList<Uri> HttpEndpoints => [.. Hosts.Where(h => h.HttpPort != 0).Select(HttpListeners.LoopbackApi)];

    public string DeviceName => _devices.Names;

    /// <summary>The compute devices every silo of this process shares (tests read their resident memory).</summary>
    public DeviceSet Devices => _devices;

    /// <summary>Why the silos compute on <see cref="DeviceName"/> (e.g. the CUDA device, or why there is none).</summary>
    public string DeviceReason { get; }

    public static async Task<EmbeddedCluster> StartAsync(EmbeddedClusterOptions? options = null, CancellationToken ct = default)
    {
        options ??= new EmbeddedClusterOptions();
        ThreadPoolHeadroom.Ensure();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Silos ?? 1, 1, nameof(options.Silos));
        var ring = new RingAttentionOptions();
        options.Configure?.Invoke(ring);
        var (device, deviceReason) = DeviceSelection.Select(options.Device, ring.ComputeThreads);
        int silos = options.Silos ?? (device.Count > 1 ? 1 : EmbeddedClusterOptions.DefaultSilos);
        // The free ports are free when asked for, not necessarily when bound: another process can take one in between
        // (seen in CI with several test processes starting clusters at once). Such a start is retried on new ports.
        for (int tries = 1; ; tries++)
        {
            try
            {
                return await StartOnFreePortsAsync(options, silos, device, deviceReason, ct);
            }
            catch (Exception e) when (tries < 3 && IsPortTaken(e))
            {
            }
            catch
            {
                device.Dispose();
                throw;
            }
        }
    }

    private static bool IsPortTaken(Exception e) =>
        e is Microsoft.AspNetCore.Connections.AddressInUseException ||
        (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }) ||
        (e.InnerException is { } inner && IsPortTaken(inner));

    private static async Task<EmbeddedCluster> StartOnFreePortsAsync(
        EmbeddedClusterOptions options, int siloCount, DeviceSet device, string deviceReason, CancellationToken ct)
    {
        string clusterId = $"embedded-{Guid.NewGuid():N}";
        int[] ports = FreePorts.Take(4 * siloCount);
        var hosts = Enumerable.Range(0, siloCount).Select(i => new SiloHostOptions
        {
            SiloPort = ports[2 * i],
            GatewayPort = ports[(2 * i) + 1],
            PrimarySiloPort = i == 0 ? 0 : ports[0],
            Device = options.Device,
            ClusterId = clusterId,
            HttpPort = options.HttpApi ? ports[(2 * siloCount) + i] : 0,
            HttpsPort = options.HttpApi && options.TlsCertificatePath is not null ? ports[(3 * siloCount) + i] : 0,
            Tls = new SiloTlsOptions { CertificatePath = options.TlsCertificatePath, CertificatePassword = options.TlsCertificatePassword },
            ClusterToken = options.ClusterToken,
        }).ToList();

        var silos = new List<IHost>();
        try
        {
            // One after another: silos that join at once collide on the membership table's version and all but one
            // retry after a random back-off (2.7 s of a 4.7 s three-silo start on 2 cores); in turn each joins in ~0.3 s.
            foreach (var host in hosts)
            {
                silos.Add(await StartSiloAsync(host, options, device, ct));
            }
            var gateways = hosts.Select(h => new IPEndPoint(IPAddress.Loopback, h.GatewayPort));
            var certificate = options.TlsCertificatePath is null ? null : ClusterTls.Load(options.TlsCertificatePath, options.TlsCertificatePassword);
            var client = await RingAttentionClient.ConnectAsync(gateways, new ClientConnectionOptions
            {
                ClusterId = clusterId,
                ServiceId = hosts[0].ServiceId,
                Certificate = certificate,
                Token = options.ClusterToken,
                ConfigureLogging = options.ConfigureLogging,
            }, ct);
            return new EmbeddedCluster(silos, device, deviceReason, client, hosts);
        }
        catch
        {
            await StopAllAsync(silos);
            throw;
        }
    }

    /// <summary>
    /// Stops silo <paramref name="index"/> (not the first, which the others joined through): its grains and whatever they
    /// held in memory are gone, as when a silo is lost; calls to them re-activate them on the silos left.
    /// </summary>
    public async Task StopSiloAsync(int index)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _silos.Count);
        var silo = _silos[index];
        try
        {
            await silo.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            silo.Dispose();
        }

        _silos.RemoveAt(index);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await StopAllAsync(_silos);
        _devices.Dispose();
    }

    private static async Task<IHost> StartSiloAsync(SiloHostOptions host, EmbeddedClusterOptions options, DeviceSet device, CancellationToken ct)
    {
        void AddSilo(IHostApplicationBuilder builder)
        {
            builder.Logging.ClearProviders();
            options.ConfigureLogging?.Invoke(builder.Logging);
            builder.UseOrleans(silo => silo.AddRingAttention(host, ring =>
            {
                ring.AllowedRoots.AddRange(options.AllowedRoots);
                options.Configure?.Invoke(ring);
            }, device));
        }

        if (host.HttpPort == 0)
        {
            var builder = Host.CreateApplicationBuilder();
            AddSilo(builder);
            var app = builder.Build();
            await app.StartAsync(ct);
            return app;
        }

        // The job API on loopback: Kestrel beside the silo, as the deployable silo serves it.
        var web = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        HttpListeners.Configure(web.WebHost, host);
        AddSilo(web);
        var webApp = web.Build();
        HttpListeners.MapUserFacing(webApp, host);
        await webApp.StartAsync(ct);
        return webApp;
    }

    private static async Task StopAllAsync(IEnumerable<IHost> silos)
    {
        foreach (var silo in silos.Reverse())
        {
            try
            {
                await silo.StopAsync(TimeSpan.FromSeconds(10));
            }
            finally
            {
                silo.Dispose();
            }
        }
    }
}
