using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace RingAttention.Deploy.Tests;

/// <summary>The objects one `kubectl kustomize` rendering produced, as JSON trees (every scalar a string).</summary>
internal sealed class Rendered(string source, IReadOnlyList<JsonObject> objects)
{
    public string Source { get; } = source;

    public IReadOnlyList<JsonObject> Objects { get; } = objects;

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => o.S("kind") == kind);

    public JsonObject? Find(string kind, string name) => OfKind(kind).SingleOrDefault(o => o["metadata"].S("name") == name);

    public JsonObject Get(string kind, string name) =>
        Find(kind, name) ?? throw new Xunit.Sdk.XunitException($"{Source}: no {kind} named {name}; it has {Inventory()}");

    public string Inventory() => string.Join(", ", Objects.Select(o => $"{o.S("kind")}/{o["metadata"].S("name")}"));

    // The silo: its Deployment, pod spec and container.
    public JsonObject SiloDeployment => Get("Deployment", Names.Silo);

    public JsonObject SiloPod => SiloDeployment["spec"]!["template"]!["spec"]!.AsObject();

    public JsonObject SiloContainer => Container(SiloPod, "silo");

    public JsonObject SiloConfigMap
    {
        get
        {
            var refs = SiloContainer["envFrom"]?.AsArray().Select(e => e?["configMapRef"].S("name")).OfType<string>().ToList() ?? [];
            var name = Assert.Single(refs, r => r.StartsWith(Names.SiloConfig, StringComparison.Ordinal));
            return Get("ConfigMap", name);
        }
    }

    public string? Config(string key) => SiloConfigMap["data"]?[key].S();

    /// <summary>The silo container's explicit environment (env, not envFrom).</summary>
    public IReadOnlyList<JsonObject> SiloEnv =>
        SiloContainer["env"]?.AsArray().Select(e => e!.AsObject()).ToList() ?? [];

    /// <summary>The silo's env entry of that name, or null.</summary>
    public JsonObject? Env(string name) => SiloEnv.SingleOrDefault(e => e.S("name") == name);

    /// <summary>A literal setting as the silo sees it: an env entry wins over the ConfigMap (envFrom), as in Kubernetes.</summary>
    public string? Setting(string name) => Env(name) is { } entry ? entry.S("value") : Config(name);

    /// <summary>The silo's volume mount at that path, or null.</summary>
    public JsonObject? MountAt(string mountPath) =>
        SiloContainer["volumeMounts"]?.AsArray().Select(m => m!.AsObject()).SingleOrDefault(m => m.S("mountPath") == mountPath);

    /// <summary>The silo pod's volume of that name, or null.</summary>
    public JsonObject? Volume(string name) =>
        SiloPod["volumes"]?.AsArray().Select(v => v!.AsObject()).SingleOrDefault(v => v.S("name") == name);

    public static JsonObject Container(JsonObject podSpec, string name) =>
        podSpec["containers"]!.AsArray().Select(c => c!.AsObject()).SingleOrDefault(c => c.S("name") == name)
        ?? throw new Xunit.Sdk.XunitException($"no container named {name}");

    /// <summary>A named or numbered container port, as a number.</summary>
    public static int ResolvePort(JsonObject container, string? port)
    {
        Assert.False(string.IsNullOrEmpty(port), "port is missing");
        if (int.TryParse(port, out var number))
        {
            return number;
        }

        var match = container["ports"]?.AsArray().SingleOrDefault(p => p?["name"].S() == port);
        Assert.True(match is not null, $"container {container.S("name")} has no port named {port}");
        return int.Parse(match!["containerPort"].S()!);
    }

    /// <summary>True when every label of the selector is on the pod template.</summary>
    public static bool Selects(JsonNode? selector, JsonNode? labels)
    {
        var wanted = selector?.AsObject();
        if (wanted is null || wanted.Count == 0)
        {
            return false;
        }

        return wanted.All(kv => labels?[kv.Key].S() == kv.Value.S());
    }

    public static JsonNode? PodLabels(JsonObject workload) => workload["spec"]?["template"]?["metadata"]?["labels"];
}

internal static class Names
{
    public const string Silo = "ringattention-silo";
    public const string SiloConfig = "ringattention-silo-config";
    public const string Gateway = "ringattention-gateway";
    public const string Redis = "ringattention-redis";
    public const string Data = "ringattention-data";
    public const string TlsSecret = "ringattention-silo-tls";
    public const string TlsDirectory = "/etc/ringattention/tls";
    public const string InsecureDev = "k8s/components/insecure-dev";
}

internal static class JsonExtensions
{
    /// <summary>The string value of a scalar node (null when absent), optionally after one key.</summary>
    public static string? S(this JsonNode? node, string? key = null)
    {
        var target = key is null ? node : node?[key];
        return target is JsonValue value ? value.GetValue<string>() : null;
    }
}

/// <summary>Renders kustomizations with kubectl (cached per directory) and parses the YAML stream.</summary>
internal static class Kustomize
{
    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new();

    public static string? Kubectl { get; } = Tools.FindOnPath("kubectl");

    public static void SkipUnlessKubectl() =>
        Skip.If(Kubectl is null, "kubectl is not on PATH: rendering k8s/ needs `kubectl kustomize` (kubectl 1.27 or later). Install kubectl to run these tests.");

    /// <summary>Renders a directory of the repository, e.g. "k8s/overlays/cpu".</summary>
    public static Rendered Render(string relativeDir)
    {
        SkipUnlessKubectl();
        return Cache.GetOrAdd(relativeDir, dir => new Lazy<Rendered>(() => RenderPath(Repo.PathOf(dir), dir))).Value;
    }

    /// <summary>Renders an overlay with extra components, through a throwaway kustomization that names them relatively
    /// (kustomize refuses absolute paths).</summary>
    public static Rendered RenderWith(string overlay, params string[] components)
    {
        SkipUnlessKubectl();
        var dir = Directory.CreateTempSubdirectory("ringattention-kustomize-");
        try
        {
            string Rel(string path) => Path.GetRelativePath(dir.FullName, Repo.PathOf(path)).Replace('\\', '/');
            var text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                + $"resources:\n  - {Rel(overlay)}\n"
                + "components:\n" + string.Concat(components.Select(c => $"  - {Rel(c)}\n"));
            File.WriteAllText(Path.Combine(dir.FullName, "kustomization.yaml"), text);
            return RenderPath(dir.FullName, $"{overlay} + {string.Join(" + ", components)}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static Rendered RenderPath(string path, string label)
    {
        var result = Tools.Run(Kubectl!, ["kustomize", path], Repo.Root, TimeSpan.FromMinutes(2));
        Assert.True(result.ExitCode == 0, result.Describe($"kubectl kustomize {label}"));
        return new Rendered(label, ParseYamlStream(result.StdOut));
    }

    public static IReadOnlyList<JsonObject> ParseYamlStream(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents
            .Select(d => ToJson(d.RootNode))
            .OfType<JsonObject>()
            .ToList();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(kv =>
            KeyValuePair.Create(((YamlScalarNode)kv.Key).Value ?? "", ToJson(kv.Value)))),
        YamlSequenceNode seq => new JsonArray(seq.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? ""),
        _ => throw new NotSupportedException($"YAML node {node.NodeType} at {node.Start}"),
    };
}
