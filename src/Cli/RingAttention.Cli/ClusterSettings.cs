using System.ComponentModel;
using Spectre.Console.Cli;

namespace RingAttention.Cli;

/// <summary>Options of commands that talk to a cluster: a running one (--cluster) or an embedded one.</summary>
public class ClusterSettings : EmbeddedDeviceSettings
{
    [CommandOption("--silos <N>")]
    [Description("silos of the embedded cluster; ignored with --cluster (default 3, or 1 on a host with several GPUs: one silo owns them all and hands blocks device to device)")]
    public int? Silos { get; init; }

    [CommandOption("--cluster <HOST:PORT,...>")]
    [Description("gateways of a running cluster instead of an embedded one, or redis://HOST:PORT to take them from the cluster's Redis membership (drops a frozen silo); default: the RINGATTN_CLUSTER environment variable, else embedded")]
    public string? Cluster { get; init; }

    [CommandOption("--cluster-id <ID>")]
    [Description("cluster id of the running cluster (default: the RINGATTN_CLUSTER_ID environment variable, else ringattention)")]
    public string? ClusterId { get; init; }

    [CommandOption("--tls-cert <PFX>")]
    [Description("the cluster's TLS certificate, when its silos use TLS")]
    public string? TlsCertificate { get; init; }

    [CommandOption("--tls-password <PASSWORD>")]
    [Description("password of the --tls-cert file")]
    public string? TlsPassword { get; init; }

    [CommandOption("--token <TOKEN>")]
    [Description("the cluster token, when its silos require one (default: the RINGATTN_TOKEN environment variable)")]
    public string? Token { get; init; }
}
