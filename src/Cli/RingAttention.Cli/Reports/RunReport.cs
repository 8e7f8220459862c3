using System.Text.Json;

namespace RingAttention.Cli.Reports;

/// <summary>
/// <c>run --json</c>: the job (the last one with --repeat), every run's wall time, where the framework logged, and the
/// job's final status exactly as the HTTP API's <c>GET /v1/jobs/{id}</c> answers it (serialised by the API's own
/// contract, so the two cannot drift apart).
/// </summary>
public sealed record RunReport(JobReport Job, IReadOnlyList<double> WallSeconds, string? Log, JsonElement Status)
{
    public static JsonElement StatusAsTheApiWritesIt(JobStatus status) =>
        JsonSerializer.SerializeToElement(status, Silo.Api.ApiJson.Default.JobStatus);
}
