using System.Text.Json.Nodes;

namespace RingAttention.Deploy.Tests;

/// <summary>Renders k8s/base and each overlay with `kubectl kustomize` and checks what the silo's contract needs:
/// images, ports, probes, identity from the downward API, Redis membership, shared storage, security, GPU scheduling.</summary>
public sealed class ManifestTests
{
    public static TheoryData<string> Kustomizations => ["k8s/base", "k8s/overlays/cpu", "k8s/overlays/gpu"];

    private static readonly Dictionary<string, int> SiloPorts = new()
    {
        ["silo"] = 11111,    // Silo__SiloPort: silo-to-silo
        ["gateway"] = 30000, // Silo__GatewayPort: clients
        ["data"] = 11200,    // Silo__DataPort: K/V data plane
        ["http"] = 8080,     // Silo__HttpPort: /healthz/live, /healthz/ready, /metrics
        ["api"] = 8443,      // Silo__HttpsPort: the job API and jobs page over TLS
    };

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Renders_the_whole_stack_without_namespace_or_rbac(string dir)
    {
        var r = Kustomize.Render(dir);
        r.Get("Deployment", Names.Silo);
        r.Get("Deployment", Names.Redis);
        r.Get("Service", Names.Gateway);
        r.Get("Service", Names.Silo);
        r.Get("Service", Names.Redis);
        r.Get("PersistentVolumeClaim", Names.Data);
        r.Get("PodDisruptionBudget", Names.Silo);
        Assert.Single(r.OfKind("ConfigMap"), c => c["metadata"].S("name")!.StartsWith(Names.SiloConfig, StringComparison.Ordinal));
        Assert.Empty(r.OfKind("StatefulSet"));

        // Namespace-agnostic: `kubectl apply -k DIR -n NS` or an overlay places everything.
        Assert.All(r.Objects, o => Assert.Null(o["metadata"]?["namespace"]));
        // No Orleans Kubernetes hosting, so no RBAC and no service account of our own.
        string[] rbac = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ServiceAccount"];
        Assert.DoesNotContain(r.Objects, o => rbac.Contains(o.S("kind")));
    }

    [SkippableTheory]
    [InlineData("k8s/base", "ringattention/silo:cpu")]
    [InlineData("k8s/overlays/cpu", "ringattention/silo:cpu")]
    [InlineData("k8s/overlays/gpu", "ringattention/silo:cuda")]
    public void Silo_image_matches_the_overlay(string dir, string image)
    {
        var r = Kustomize.Render(dir);
        Assert.Equal(image, r.SiloContainer.S("image"));
        Assert.Single(r.SiloPod["containers"]!.AsArray());
        Assert.Null(r.SiloPod["initContainers"]);
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Silo_declares_its_five_ports_and_is_configured_to_listen_on_them(string dir)
    {
        var r = Kustomize.Render(dir);
        var ports = r.SiloContainer["ports"]!.AsArray()
            .ToDictionary(p => p!["name"].S()!, p => (Port: int.Parse(p!["containerPort"].S()!), Protocol: p["protocol"].S() ?? "TCP"));
        Assert.Equal(SiloPorts.OrderBy(p => p.Key), ports.Select(p => KeyValuePair.Create(p.Key, p.Value.Port)).OrderBy(p => p.Key));
        Assert.All(ports.Values, p => Assert.Equal("TCP", p.Protocol));

        // The silo listens where the pod says it does (settings from the ConfigMap).
        Assert.Equal("11111", r.Config("Silo__SiloPort"));
        Assert.Equal("30000", r.Config("Silo__GatewayPort"));
        Assert.Equal("11200", r.Config("Silo__DataPort"));
        Assert.Equal("8080", r.Config("Silo__HttpPort"));
        Assert.Equal("8443", r.Config("Silo__HttpsPort"));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Probes_use_the_health_endpoints_on_the_http_port(string dir)
    {
        var r = Kustomize.Render(dir);
        var c = r.SiloContainer;
        foreach (var (probe, path) in new[] { ("startupProbe", "/healthz/live"), ("livenessProbe", "/healthz/live"), ("readinessProbe", "/healthz/ready") })
        {
            var http = c[probe]?["httpGet"];
            Assert.True(http is not null, $"{dir}: silo has no {probe} with httpGet");
            Assert.Equal(path, http!["path"].S());
            Assert.Equal(8080, Rendered.ResolvePort(c, http["port"].S()));
            Assert.Equal("HTTP", http["scheme"].S() ?? "HTTP");
        }

        // Start-up may take a while (CUDA initialisation) but must be bounded; liveness must not kill a slow starter.
        var startup = c["startupProbe"]!;
        var budget = int.Parse(startup["periodSeconds"].S() ?? "10") * int.Parse(startup["failureThreshold"].S() ?? "3");
        Assert.InRange(budget, 30, 600);
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Silo_identity_comes_from_the_downward_api(string dir)
    {
        var r = Kustomize.Render(dir);
        var env = r.SiloContainer["env"]!.AsArray().Select(e => e!.AsObject()).ToList();
        Assert.Equal("status.podIP", FieldRef(env, "Silo__AdvertisedHost"));
        Assert.Equal("metadata.name", FieldRef(env, "Silo__SiloName"));
        Assert.Equal("status.podIP", FieldRef(env, "POD_IP"));
        Assert.Equal("metadata.name", FieldRef(env, "POD_NAME"));
        // The same variable must not also come from the ConfigMap with a fixed value.
        Assert.Null(r.Config("Silo__AdvertisedHost"));
        Assert.Null(r.Config("Silo__SiloName"));
    }

    /// <summary>The downward-API field a variable resolves to: set directly with fieldRef, or as "$(VAR)" of one that is.</summary>
    private static string? FieldRef(List<JsonObject> env, string name)
    {
        var index = env.FindIndex(e => e.S("name") == name);
        Assert.True(index >= 0, $"silo env has no {name}");
        var entry = env[index];
        if (entry["valueFrom"]?["fieldRef"]?["fieldPath"].S() is { } path)
        {
            return path;
        }

        var value = entry.S("value") ?? "";
        if (value.StartsWith("$(", StringComparison.Ordinal) && value.EndsWith(')'))
        {
            var referenced = value[2..^1];
            // Kubernetes expands $(VAR) only from variables defined earlier in the list.
            Assert.True(env.Take(index).Any(e => e.S("name") == referenced), $"{name}={value} refers to a variable not defined before it");
            return FieldRef(env, referenced);
        }

        return null;
    }

    [SkippableTheory]
    [InlineData("k8s/base", "auto")]
    [InlineData("k8s/overlays/cpu", "cpu")]
    [InlineData("k8s/overlays/gpu", "auto")]
    public void Silo_settings_come_from_the_configmap(string dir, string device)
    {
        var r = Kustomize.Render(dir);
        Assert.Equal("redis", r.Config("Silo__Clustering"));
        Assert.Equal(device, r.Config("Silo__Device"));
        Assert.Equal("/data", r.Config("RingAttention__AllowedRoots__0"));
        Assert.False(string.IsNullOrWhiteSpace(r.Config("Silo__ClusterId")));
        Assert.False(string.IsNullOrWhiteSpace(r.Config("Silo__ServiceId")));

        // The job memory limit fits inside the container's memory limit.
        var maxJob = long.Parse(r.Config("RingAttention__MaxJobMemoryBytes")!);
        var limit = Quantity.Parse(r.SiloContainer["resources"]!["limits"]!["memory"].S()!);
        Assert.InRange(maxJob, 1L << 30, (long)(limit * 0.9));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Redis_connection_string_names_the_redis_service(string dir)
    {
        var r = Kustomize.Render(dir);
        var connection = r.Config("Silo__RedisConnectionString");
        Assert.False(string.IsNullOrEmpty(connection), "Silo__RedisConnectionString is missing");
        var endpoint = connection!.Split(',')[0];
        var host = endpoint.Split(':')[0];
        var port = endpoint.Contains(':') ? int.Parse(endpoint.Split(':')[1]) : 6379;

        // A short Service name (namespace-agnostic) of this rendering, whose port reaches the Redis container.
        var service = r.Get("Service", host);
        var servicePort = Assert.Single(service["spec"]!["ports"]!.AsArray(), p => int.Parse(p!["port"].S()!) == port)!;
        var redis = r.Get("Deployment", Names.Redis);
        Assert.True(Rendered.Selects(service["spec"]!["selector"], Rendered.PodLabels(redis)), $"Service {host} does not select the Redis pods");
        var redisContainer = Rendered.Container(redis["spec"]!["template"]!["spec"]!.AsObject(), "redis");
        Assert.Equal(6379, Rendered.ResolvePort(redisContainer, servicePort["targetPort"].S() ?? port.ToString()));
        Assert.Equal("1", redis["spec"]!["replicas"].S());
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Shared_volume_is_a_rwx_claim_mounted_at_data_and_tmp_is_writable(string dir)
    {
        var r = Kustomize.Render(dir);
        var mounts = r.SiloContainer["volumeMounts"]!.AsArray().ToDictionary(m => m!["mountPath"].S()!, m => m!["name"].S()!);
        var volumes = r.SiloPod["volumes"]!.AsArray().ToDictionary(v => v!["name"].S()!, v => v!);

        Assert.True(mounts.TryGetValue("/data", out var dataVolume), $"{dir}: nothing is mounted at /data");
        var claim = volumes[dataVolume!]["persistentVolumeClaim"]?["claimName"].S();
        Assert.Equal(Names.Data, claim);
        // Silos write outputs there.
        Assert.NotEqual("true", r.SiloContainer["volumeMounts"]!.AsArray().Single(m => m!["mountPath"].S() == "/data")!["readOnly"].S());
        var pvc = r.Get("PersistentVolumeClaim", claim!);
        Assert.Contains("ReadWriteMany", pvc["spec"]!["accessModes"]!.AsArray().Select(a => a.S()));

        Assert.True(mounts.TryGetValue("/tmp", out var tmpVolume), $"{dir}: /tmp is not mounted (the root filesystem is read-only)");
        Assert.NotNull(volumes[tmpVolume!]["emptyDir"]);
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Pods_run_as_non_root_with_a_read_only_root_and_no_api_token(string dir)
    {
        var r = Kustomize.Render(dir);
        foreach (var (workload, container) in new[] { (Names.Silo, "silo"), (Names.Redis, "redis") })
        {
            var pod = r.Get("Deployment", workload)["spec"]!["template"]!["spec"]!.AsObject();
            Assert.Equal("false", pod.S("automountServiceAccountToken"));
            Assert.NotEqual("true", pod["hostNetwork"].S());
            var podSecurity = pod["securityContext"];
            Assert.Equal("true", podSecurity?["runAsNonRoot"].S());
            Assert.True(int.Parse(podSecurity?["runAsUser"].S() ?? "0") > 0, $"{workload}: runAsUser must be a non-zero uid");

            var c = Rendered.Container(pod, container);
            var security = c["securityContext"];
            Assert.Equal("true", security?["readOnlyRootFilesystem"].S());
            Assert.Equal("false", security?["allowPrivilegeEscalation"].S());
            Assert.NotEqual("true", security?["privileged"].S());
            Assert.Contains("ALL", security?["capabilities"]?["drop"]?.AsArray().Select(d => d.S()) ?? []);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Silo_requests_cpu_and_memory_and_limits_memory(string dir)
    {
        var r = Kustomize.Render(dir);
        var resources = r.SiloContainer["resources"]!;
        var cpu = Quantity.Parse(resources["requests"]!["cpu"].S()!);
        var memoryRequest = Quantity.Parse(resources["requests"]!["memory"].S()!);
        var memoryLimit = Quantity.Parse(resources["limits"]!["memory"].S()!);
        Assert.True(cpu >= 1, $"{dir}: CPU request {cpu}");
        Assert.True(memoryRequest >= 1L << 30 && memoryRequest <= memoryLimit, $"{dir}: memory request {memoryRequest} limit {memoryLimit}");
        // .NET's processor count follows the CPU request (there is no CPU limit to follow).
        var processors = r.SiloContainer["env"]!.AsArray().Single(e => e!["name"].S() == "DOTNET_PROCESSOR_COUNT")!;
        Assert.Equal("requests.cpu", processors["valueFrom"]?["resourceFieldRef"]?["resource"].S());
    }

    [SkippableFact]
    public void Gpu_overlay_asks_for_one_gpu_per_silo_on_gpu_nodes_and_the_others_do_not()
    {
        var gpu = Kustomize.Render("k8s/overlays/gpu");
        var resources = gpu.SiloContainer["resources"]!;
        Assert.Equal("1", resources["limits"]?["nvidia.com/gpu"].S());
        Assert.Equal("1", resources["requests"]?["nvidia.com/gpu"].S());
        Assert.Equal("true", gpu.SiloPod["nodeSelector"]?["nvidia.com/gpu.present"].S());
        Assert.Contains(gpu.SiloPod["tolerations"]?.AsArray() ?? [], t =>
            t!["key"].S() == "nvidia.com/gpu" && t["effect"].S() == "NoSchedule" && (t["operator"].S() == "Exists" || t["value"] is not null));
        // Redis does not need a GPU node.
        var redisPod = gpu.Get("Deployment", Names.Redis)["spec"]!["template"]!["spec"]!;
        Assert.Null(redisPod["nodeSelector"]);
        Assert.DoesNotContain("nvidia.com/gpu", redisPod.ToJsonString());

        foreach (var dir in new[] { "k8s/base", "k8s/overlays/cpu" })
        {
            var r = Kustomize.Render(dir);
            var text = string.Concat(r.Objects.Select(o => o.ToJsonString()));
            Assert.DoesNotContain("nvidia.com/gpu", text);
            Assert.Null(r.SiloPod["nodeSelector"]);
            Assert.Null(r.SiloPod["tolerations"]);
        }
    }

    [SkippableFact]
    public void Cpu_overlay_runs_more_and_bigger_silos_than_the_base()
    {
        var b = Kustomize.Render("k8s/base");
        var cpu = Kustomize.Render("k8s/overlays/cpu");
        Assert.True(int.Parse(cpu.SiloDeployment["spec"]!["replicas"].S()!) > int.Parse(b.SiloDeployment["spec"]!["replicas"].S()!));
        Assert.True(Quantity.Parse(cpu.SiloContainer["resources"]!["requests"]!["cpu"].S()!)
            > Quantity.Parse(b.SiloContainer["resources"]!["requests"]!["cpu"].S()!));
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Silo_deployment_rolls_surge_first_and_shuts_down_gracefully(string dir)
    {
        var r = Kustomize.Render(dir);
        var spec = r.SiloDeployment["spec"]!;
        Assert.Equal("RollingUpdate", spec["strategy"]?["type"].S());
        Assert.Equal("0", spec["strategy"]?["rollingUpdate"]?["maxUnavailable"].S());
        Assert.Equal("1", spec["strategy"]?["rollingUpdate"]?["maxSurge"].S());
        Assert.Equal("150", r.SiloPod.S("terminationGracePeriodSeconds"));
        Assert.True(Rendered.Selects(spec["selector"]!["matchLabels"], Rendered.PodLabels(r.SiloDeployment)));

        var pdb = r.Get("PodDisruptionBudget", Names.Silo);
        Assert.True(Rendered.Selects(pdb["spec"]!["selector"]!["matchLabels"], Rendered.PodLabels(r.SiloDeployment)), "the PDB does not select the silos");
        Assert.False(Rendered.Selects(pdb["spec"]!["selector"]!["matchLabels"], Rendered.PodLabels(r.Get("Deployment", Names.Redis))));
        Assert.Equal("1", pdb["spec"]!["maxUnavailable"].S());
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Services_route_clients_to_the_gateway_and_silos_by_pod_ip(string dir)
    {
        var r = Kustomize.Render(dir);
        var siloLabels = Rendered.PodLabels(r.SiloDeployment);
        var redisLabels = Rendered.PodLabels(r.Get("Deployment", Names.Redis));

        var gateway = r.Get("Service", Names.Gateway)["spec"]!;
        Assert.Equal("ClusterIP", gateway["type"].S() ?? "ClusterIP");
        Assert.True(Rendered.Selects(gateway["selector"], siloLabels));
        Assert.False(Rendered.Selects(gateway["selector"], redisLabels));
        var gatewayPort = Assert.Single(gateway["ports"]!.AsArray())!;
        Assert.Equal("30000", gatewayPort["port"].S());
        Assert.Equal(30000, Rendered.ResolvePort(r.SiloContainer, gatewayPort["targetPort"].S()));

        // Silo-to-silo and the data plane: headless (no VIP), every silo pod by its own address.
        var headless = r.Get("Service", Names.Silo)["spec"]!;
        Assert.Equal("None", headless["clusterIP"].S());
        Assert.True(Rendered.Selects(headless["selector"], siloLabels));
        var targets = headless["ports"]!.AsArray().Select(p => Rendered.ResolvePort(r.SiloContainer, p!["targetPort"].S() ?? p["port"].S())).ToList();
        Assert.Contains(11111, targets);
        Assert.Contains(11200, targets);

        // Nothing is exposed outside the cluster unless an overlay opts in (components/gateway-loadbalancer).
        Assert.All(r.OfKind("Service"), s => Assert.DoesNotContain(s["spec"]!["type"].S() ?? "ClusterIP", new[] { "LoadBalancer", "NodePort" }));
    }

    [SkippableFact]
    public void Loadbalancer_component_exposes_only_the_gateway_and_is_documented()
    {
        var r = Kustomize.RenderWith("k8s/overlays/cpu", "k8s/components/gateway-loadbalancer");
        var gateway = r.Get("Service", Names.Gateway)["spec"]!;
        Assert.Equal("LoadBalancer", gateway["type"].S());
        Assert.Equal("30000", Assert.Single(gateway["ports"]!.AsArray())!["port"].S());
        Assert.Single(r.OfKind("Service"), s => s["spec"]!["type"].S() == "LoadBalancer");

        var readme = Repo.ReadText("k8s/README.md");
        Assert.Contains("components/gateway-loadbalancer", readme);
        Assert.Contains("LoadBalancer", readme);
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Silos_listen_on_the_pod_ip_with_tls_from_the_secret_by_default(string dir)
    {
        var r = Kustomize.Render(dir);
        // Beyond loopback (probes and peers arrive at the pod IP), which the silo allows only with TLS.
        Assert.Equal("0.0.0.0", r.Setting("Silo__ListenAddress"));
        Assert.NotEqual("true", r.Setting("Silo__Insecure")?.ToLowerInvariant());

        // The certificate file lies in a read-only mount of the Secret.
        var path = r.Setting("Silo__Tls__CertificatePath");
        Assert.False(string.IsNullOrEmpty(path), $"{dir}: Silo__Tls__CertificatePath is not set: the silo would refuse to start");
        Assert.Equal($"{Names.TlsDirectory}/silo.pfx", path);
        var mount = r.MountAt(Names.TlsDirectory);
        Assert.True(mount is not null, $"{dir}: nothing is mounted at {Names.TlsDirectory}");
        Assert.Equal("true", mount!["readOnly"].S());
        var volume = r.Volume(mount.S("name")!);
        Assert.True(volume is not null, $"{dir}: no volume named {mount.S("name")}");
        Assert.Equal(Names.TlsSecret, volume!["secret"]?["secretName"].S());
        Assert.NotEqual("true", volume["secret"]?["optional"].S());
        Assert.Contains(volume["secret"]?["defaultMode"].S(), new[] { "288", "256" }); // 0440 or 0400: not world-readable

        // Password (required) and cluster token (optional key) come from the same Secret, never from the ConfigMap.
        var password = SecretRef(r, "Silo__Tls__CertificatePassword");
        Assert.Equal((Names.TlsSecret, "password", false), password);
        var token = SecretRef(r, "Silo__ClusterToken");
        Assert.Equal((Names.TlsSecret, "token", true), token);
        Assert.Null(r.Config("Silo__Tls__CertificatePassword"));
        Assert.Null(r.Config("Silo__ClusterToken"));
    }

    /// <summary>Secret name, key and optional flag of an env entry set with secretKeyRef.</summary>
    private static (string? Secret, string? Key, bool Optional) SecretRef(Rendered r, string name)
    {
        var entry = r.Env(name);
        Assert.True(entry is not null, $"{r.Source}: silo env has no {name}");
        var reference = entry!["valueFrom"]?["secretKeyRef"];
        Assert.True(reference is not null, $"{r.Source}: {name} does not come from a Secret");
        return (reference!["name"].S(), reference["key"].S(), reference["optional"].S() == "true");
    }

    [SkippableTheory]
    [InlineData("k8s/base", "ringattention/silo:cpu")]
    [InlineData("k8s/overlays/cpu", "ringattention/silo:cpu")]
    [InlineData("k8s/overlays/gpu", "ringattention/silo:cuda")]
    public void Insecure_dev_component_drops_tls_and_says_insecure(string dir, string image)
    {
        var r = Kustomize.RenderWith(dir, Names.InsecureDev);
        Assert.Equal("true", r.Setting("Silo__Insecure"));
        Assert.Equal("0.0.0.0", r.Setting("Silo__ListenAddress"));

        // No TLS setting anywhere, no certificate mount, and nothing that needs the Secret to exist.
        Assert.DoesNotContain(r.SiloEnv, e => e.S("name")!.StartsWith("Silo__Tls__", StringComparison.Ordinal));
        Assert.DoesNotContain(r.SiloConfigMap["data"]!.AsObject(), kv => kv.Key.StartsWith("Silo__Tls__", StringComparison.Ordinal));
        Assert.Null(r.MountAt(Names.TlsDirectory));
        Assert.DoesNotContain(r.SiloPod["volumes"]!.AsArray(), v => v!["secret"] is not null);
        Assert.All(r.SiloEnv.Where(e => e["valueFrom"]?["secretKeyRef"] is not null),
            e => Assert.Equal("true", e["valueFrom"]!["secretKeyRef"]!["optional"].S()));

        // The rest of the overlay survives the component.
        Assert.Equal(image, r.SiloContainer.S("image"));
        Assert.Equal("/data", r.Config("RingAttention__AllowedRoots__0"));
        Assert.NotNull(r.MountAt("/data"));
        Assert.NotNull(r.MountAt("/tmp"));
        Assert.Equal(dir.EndsWith("gpu", StringComparison.Ordinal) ? "1" : null, r.SiloContainer["resources"]!["limits"]!["nvidia.com/gpu"].S());
    }

    [Fact]
    public void Insecure_dev_replaces_the_tls_component_and_is_documented()
    {
        Assert.False(Directory.Exists(Repo.PathOf("k8s/components/tls")), "k8s/components/tls is gone: TLS is in the base now");
        Assert.True(File.Exists(Repo.PathOf($"{Names.InsecureDev}/kustomization.yaml")));
        var stale = Directory.EnumerateFiles(Repo.PathOf("k8s"), "*", SearchOption.AllDirectories)
            .Where(f => File.ReadAllText(f).Contains("components/tls", StringComparison.Ordinal))
            .Select(f => Path.GetRelativePath(Repo.Root, f))
            .ToList();
        Assert.True(stale.Count == 0, $"still naming components/tls: {string.Join(", ", stale)}");

        var component = Repo.ReadText($"{Names.InsecureDev}/kustomization.yaml");
        Assert.Contains("production", component, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("warning", component, StringComparison.OrdinalIgnoreCase);

        var readme = Repo.ReadText("k8s/README.md");
        Assert.Contains("## Security", readme);
        foreach (var needle in new[] { "components/insecure-dev", Names.TlsSecret, "--from-literal=token=", "Silo__ListenAddress", "AllowedRoots", "appendonly" })
        {
            Assert.Contains(needle, readme);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Kustomizations))]
    public void Redis_keeps_membership_in_an_append_only_file_on_its_volume(string dir)
    {
        var r = Kustomize.Render(dir);
        var pod = r.Get("Deployment", Names.Redis)["spec"]!["template"]!["spec"]!.AsObject();
        var redis = Rendered.Container(pod, "redis");
        var args = redis["args"]?.AsArray().Select(a => a.S() ?? "").ToList() ?? [];
        string? Arg(string name)
        {
            var i = args.LastIndexOf(name);
            return i >= 0 && i + 1 < args.Count ? args[i + 1] : null;
        }

        Assert.Equal("yes", Arg("--appendonly"));
        Assert.Equal("everysec", Arg("--appendfsync"));
        var aofDir = Arg("--dir");
        Assert.Equal("/data", aofDir);

        // The AOF directory is a writable volume that outlives a container restart (the root filesystem is read-only).
        var mount = redis["volumeMounts"]?.AsArray().SingleOrDefault(m => m!["mountPath"].S() == aofDir);
        Assert.True(mount is not null, $"{dir}: Redis has no volume at {aofDir}");
        Assert.NotEqual("true", mount!["readOnly"].S());
        var volume = pod["volumes"]!.AsArray().Single(v => v!["name"].S() == mount["name"].S())!;
        Assert.True(volume["emptyDir"] is not null || volume["persistentVolumeClaim"] is not null, $"{dir}: Redis's {aofDir} is neither an emptyDir nor a claim");
    }

    [Fact]
    public void Image_user_is_the_uid_the_pods_run_as()
    {
        // Read the base manifest directly (no kubectl needed): runAsUser must be the Dockerfiles' USER.
        var deployment = Kustomize.ParseYamlStream(Repo.ReadText("k8s/base/silo-deployment.yaml")).Single();
        var uid = deployment["spec"]!["template"]!["spec"]!["securityContext"]!["runAsUser"].S();
        foreach (var dockerfile in Dockerfile.All)
        {
            Assert.Equal(uid, dockerfile.FinalUser?.Split(':')[0]);
        }
    }
}

/// <summary>Kubernetes resource quantities ("2", "500m", "4Gi", "16G") as numbers.</summary>
internal static class Quantity
{
    public static double Parse(string text)
    {
        (string Suffix, double Factor)[] suffixes =
        [
            ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
            ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("m", 1e-3),
        ];
        foreach (var (suffix, factor) in suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal))
            {
                return double.Parse(text[..^suffix.Length], System.Globalization.CultureInfo.InvariantCulture) * factor;
            }
        }

        return double.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }
}
