using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using RingAttention.Grains.Telemetry;

namespace RingAttention.Silo.Hosting;

public static class TelemetryExtensions
{
    /// <summary>
    /// OpenTelemetry metrics of RingAttention and Orleans, scraped at /metrics, and traces of jobs, shards and ring
    /// steps (plus Orleans' grain calls) to an OTLP collector when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    /// </summary>
    public static IServiceCollection AddRingAttentionTelemetry(this IServiceCollection services)
    {
        services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddMeter(RingTelemetry.MeterName, "Microsoft.Orleans")
                .AddPrometheusExporter())
            .WithTracing(tracing =>
            {
                tracing.AddSource(RingTelemetry.ActivitySourceName, "Microsoft.Orleans.Application");
                if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT")))
                {
                    tracing.AddOtlpExporter();
                }
            });
        return services;
    }
}
