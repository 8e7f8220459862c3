using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.MembershipService.SiloMetadata;
using RingAttention.Contracts.Security;
using RingAttention.Grains.Configuration;
using RingAttention.Grains.DataPlane;
using RingAttention.Grains.Devices;
using RingAttention.Grains.Placement;

namespace RingAttention.Silo.Hosting;

public static class RingAttentionSiloExtensions
{
    /// <summary>
    /// Makes this silo a RingAttention silo: clustering, the ring-edge streams, the K/V data plane (bound now, so its
    /// port can be advertised in the silo metadata), the compute device and shard placement.
    /// </summary>
    /// <param name="sharedDevices">Devices several in-process silos share (the embedded cluster: one CPU is one device);
    /// null selects them from <see cref="SiloHostOptions.Device"/>.</param>
    public static ISiloBuilder AddRingAttention(
        this ISiloBuilder silo, SiloHostOptions host, Action<RingAttentionOptions>? configure = null, DeviceSet? sharedDevices = null)
    {
        SiloHostOptionsValidator.ThrowIfInvalid(host);
        silo.UseClustering(host);
        silo.AddActivityPropagation();
        DataPlaneTls? dataTls = null;
        if (host.Tls.CertificatePath is string certificatePath)
        {
            var certificate = ClusterTls.Load(certificatePath, host.Tls.CertificatePassword);
            silo.UseTls(certificate, tls => ClusterTls.Configure(tls, certificate));
            // The K/V bytes travel under the same certificate as the control plane.
            dataTls = new DataPlaneTls(certificate);
        }

        if (host.ClusterToken is string token)
        {
            silo.AddIncomingGrainCallFilter(new Security.ClusterTokenFilter(token));
        }

        var store = new BlockStore();
        var dataServer = new DataPlaneServer(store, host.ListenIPAddress(), host.DataPort, host.AdvertisedHost, dataTls);

        var ringOptions = new RingAttentionOptions();
        configure?.Invoke(ringOptions);
        var (devices, reason) = sharedDevices is null
            ? DeviceSelection.Select(host.Device, ringOptions.ComputeThreads)
            : (sharedDevices, "shared by the silos of this process");
        var metadata = new Dictionary<string, string>
        {
            [SiloMetadataKeys.Device] = devices.Names,
            [SiloMetadataKeys.DeviceCount] = devices.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SiloMetadataKeys.DataEndpoint] = dataServer.Endpoint,
        };
        if (devices.All.All(d => d.MemoryBytes is not null))
        {
            metadata[SiloMetadataKeys.DeviceMemory] = string.Join(',', devices.All.Select(d => d.MemoryBytes!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        for (int i = 0; i < devices.Count; i++)
        {
            metadata[SiloMetadataKeys.DeviceFactsPrefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = devices[i].Facts.ToMetadata(Environment.MachineName);
        }

        silo.UseSiloMetadata(metadata);

        silo.Services.AddSingleton(store);
        silo.Services.AddSingleton(dataServer);
        silo.Services.AddSingleton(new DataPlaneClient(dataTls));
        silo.Services.AddHostedService<DataPlaneHostedService>();
        silo.Services.AddHostedService<StalePartialSweep>();
        silo.Services.AddSingleton(devices);
        silo.Services.AddHostedService(sp => new DeviceAnnouncement(sp.GetRequiredService<ILogger<DeviceAnnouncement>>(), devices.Names, reason, dataServer.Endpoint));
        silo.Services.AddOptions<RingAttentionOptions>().Configure(o => configure?.Invoke(o)).ValidateOnStart();
        silo.Services.AddSingleton<IValidateOptions<RingAttentionOptions>, RingAttentionOptionsValidator>();
        silo.Services.AddPlacementDirector<DevicePlacementStrategy, DevicePlacementDirector>();
        silo.Services.AddSingleton<Grains.Sessions.SessionPagePools>();
        // An idle session shard gives its pages back (it reloads from the session's segments on its next call).
        silo.Services.AddOptions<GrainCollectionOptions>().Configure<IOptions<RingAttentionOptions>>((collection, ring) =>
            collection.ClassSpecificCollectionAge[typeof(Grains.Sessions.SessionShardGrain).FullName!] = ring.Value.SessionIdleTimeout);
        return silo;
    }

    /// <summary>Localhost development clustering (a primary silo), or a Redis membership table with pod-IP endpoints.</summary>
    private static void UseClustering(this ISiloBuilder silo, SiloHostOptions host)
    {
        if (host.IsRedis)
        {
            silo.UseRedisClustering(host.RedisConnectionString);
            silo.Services.AddHostedService(sp => new MembershipTableWatch(
                host, sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<MembershipTableWatch>>()));
            // Job records beside membership: a coordinator re-activated on another silo resumes its job from here.
            silo.AddRedisGrainStorage(JobStorage.Name, o =>
            {
                o.ConfigurationOptions = StackExchange.Redis.ConfigurationOptions.Parse(host.RedisConnectionString);
                o.EntryExpiry = TimeSpan.FromDays(7);
            });
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = host.ClusterId;
                o.ServiceId = host.ServiceId;
            });
            // Advertise the address peers dial; listen only where configured (loopback unless the operator opened it).
            var advertised = ResolveAdvertised(host.AdvertisedHost);
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = advertised;
                o.SiloPort = host.SiloPort;
                o.GatewayPort = host.GatewayPort;
                o.SiloListeningEndpoint = new IPEndPoint(host.ListenIPAddress(), host.SiloPort);
                o.GatewayListeningEndpoint = new IPEndPoint(host.ListenIPAddress(), host.GatewayPort);
            });
        }
        else
        {
            // One machine: the records live as long as the cluster's silos (an embedded cluster lives in one process).
            silo.AddMemoryGrainStorage(JobStorage.Name);
            IPEndPoint? primary = host.PrimarySiloPort == 0 ? null : new IPEndPoint(IPAddress.Loopback, host.PrimarySiloPort);
            silo.UseLocalhostClustering(host.SiloPort, host.GatewayPort, primary, host.ServiceId, host.ClusterId);
        }

        if (host.SiloName is string name)
        {
            silo.Configure<SiloOptions>(o => o.SiloName = name);
        }

        if (host.ProbeTimeout is TimeSpan probeTimeout)
        {
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = probeTimeout;
                o.NumMissedProbesLimit = 2;
            });
        }
    }

    private static IPAddress ResolveAdvertised(string host) =>
        IPAddress.TryParse(host, out var address) ? address : Dns.GetHostAddresses(host).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
}
