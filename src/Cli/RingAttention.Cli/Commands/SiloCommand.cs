using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using RingAttention.Silo.Api;
using System.ComponentModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RingAttention.Client.Logging;
using RingAttention.Silo.Hosting;
using Spectre.Console;
using Spectre.Console.Cli;

namespace RingAttention.Cli.Commands;

public sealed class SiloSettings : CliSettings
{
    [CommandOption("--device <DEVICES>")]
    [Description("this silo's devices, as Silo:Device: auto, cpu, cuda, cuda:N, cuda:0,cuda:1, ilgpu-cpu[[:N]] (one silo per GPU: cuda:0 in one, cuda:1 in another)")]
    [DefaultValue("auto")]
    public string Device { get; init; } = "auto";

    [CommandOption("--silo-port <PORT>")]
    [Description("silo-to-silo port")]
    [DefaultValue(11111)]
    public int SiloPort { get; init; } = 11111;

    [CommandOption("--gateway-port <PORT>")]
    [Description("the port clients (ringattn run --cluster 127.0.0.1:PORT) connect to")]
    [DefaultValue(30000)]
    public int GatewayPort { get; init; } = 30000;

    [CommandOption("--primary-port <PORT>")]
    [Description("silo port of the first silo of this host's cluster (0: this one is the first)")]
    [DefaultValue(0)]
    public int PrimaryPort { get; init; }

    [CommandOption("--cluster-id <ID>")]
    [Description("the cluster's id; clients give the same (--cluster-id or RINGATTN_CLUSTER_ID)")]
    [DefaultValue("ringattention")]
    public string ClusterId { get; init; } = "ringattention";

    [CommandOption("--allowed-root <DIR>")]
    [Description("a directory jobs may read inputs from and write outputs to (repeat for several; default: the current directory)")]
    public string[] AllowedRoots { get; init; } = [];

    [CommandOption("--max-job-memory <BYTES>")]
    [Description("largest job in bytes (RingAttention:MaxJobMemoryBytes, default 8 GiB)")]
    public long? MaxJobMemory { get; init; }

    [CommandOption("--session-root <DIR>")]
    [Description("where sessions keep their manifests and K/V segments; every silo of the cluster must see the same directory (default ~/.local/state/ringattn/sessions)")]
    public string? SessionRoot { get; init; }

    [CommandOption("--http-port <PORT>")]
    [Description("serve the HTTP job API (/v1/jobs) on 127.0.0.1:PORT (default 0: off)")]
    [DefaultValue(0)]
    public int HttpPort { get; init; }

    [CommandOption("--no-ipc")]
    [Description("send K/V blocks to other silo processes of this host over the data plane instead of device to device (CUDA IPC), as between hosts")]
    public bool NoIpc { get; init; }

    public override ValidationResult Validate() =>
        !DeviceSelection.IsKnown(Device) ? ValidationResult.Error($"--device: '{Device}' is not one of {string.Join(", ", DeviceSelection.Names)}")
        : SiloPort is < 1 or > 65535 ? ValidationResult.Error($"--silo-port ({SiloPort}) must be 1-65535")
        : GatewayPort is < 1 or > 65535 ? ValidationResult.Error($"--gateway-port ({GatewayPort}) must be 1-65535")
        : PrimaryPort is < 0 or > 65535 ? ValidationResult.Error($"--primary-port ({PrimaryPort}) must be 0-65535")
        : HttpPort is < 0 or > 65535 ? ValidationResult.Error($"--http-port ({HttpPort}) must be 0-65535")
        : base.Validate();
}

/// <summary>
/// <c>ringattn silo</c>: one silo of a cluster on this host, in this process, listening on loopback only (the
/// development clustering of <c>Silo:PrimarySiloPort</c>). What the self-contained binary offers where no .NET is
/// installed, e.g. one silo per GPU (<c>--device cuda:0</c>, <c>--device cuda:1 --primary-port 11111</c>), whose K/V
/// hand-offs go device to device between the processes (CUDA IPC). Runs until Ctrl+C. A cluster across hosts, with
/// TLS and Redis membership, is the RingAttention.Silo program's (README: A multi-process cluster).
/// </summary>
public sealed class SiloCommand : AsyncCommand<SiloSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SiloSettings settings, CancellationToken cancellationToken)
    {
        var host = new SiloHostOptions
        {
            Device = settings.Device,
            SiloPort = settings.SiloPort,
            GatewayPort = settings.GatewayPort,
            PrimarySiloPort = settings.PrimaryPort,
            ClusterId = settings.ClusterId,
            HttpPort = settings.HttpPort,
        };
        string[] roots = settings.AllowedRoots.Length > 0 ? settings.AllowedRoots : [Environment.CurrentDirectory];
        using var log = settings.LogFile is string path ? new FileLog(path) : FileLog.CreateDefault();
        // With --http-port the job API runs beside the silo on loopback (Kestrel), as the deployable silo serves it.
        IHostApplicationBuilder builder = settings.HttpPort > 0 ? WebApplication.CreateSlimBuilder() : Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        log.Configure(settings.Verbose ? LogLevel.Information : LogLevel.Warning, alsoToStandardError: settings.Verbose)(builder.Logging);
        builder.UseOrleans(silo => silo.AddRingAttention(host, ring =>
        {
            ring.AllowedRoots.AddRange(roots.Select(Path.GetFullPath));
            ring.ProcessHandoff = !settings.NoIpc;
            ring.SessionRoot = Path.GetFullPath(settings.SessionRoot ?? Client.StateDirectory.Of("sessions"));
            if (settings.MaxJobMemory is long limit)
            {
                ring.MaxJobMemoryBytes = limit;
            }
        }));
        using IHost app = builder is WebApplicationBuilder web ? ServeApi(web, host) : ((HostApplicationBuilder)builder).Build();
        await app.StartAsync(cancellationToken);
        var devices = (Grains.Devices.DeviceSet)app.Services.GetService(typeof(Grains.Devices.DeviceSet))!;
        AnsiConsole.MarkupLineInterpolated(
            $"silo of cluster '{settings.ClusterId}' on {devices.Names}: gateway 127.0.0.1:{settings.GatewayPort}, silo port {settings.SiloPort}{(settings.HttpPort > 0 ? $", job API http://127.0.0.1:{settings.HttpPort}/v1/jobs" : "")}; framework log: {log.Path}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        await app.StopAsync(CancellationToken.None);
        return CliErrors.Ok;
    }

    private static WebApplication ServeApi(WebApplicationBuilder web, Silo.Hosting.SiloHostOptions host)
    {
        Silo.Hosting.HttpListeners.Configure(web.WebHost, host);
        var app = web.Build();
        Silo.Hosting.HttpListeners.MapUserFacing(app, host);
        return app;
    }
}
