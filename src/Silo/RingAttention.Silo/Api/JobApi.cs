using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RingAttention.Attention;
using RingAttention.Client;
using RingAttention.Contracts.Security;

namespace RingAttention.Silo.Api;

/// <summary>
/// The HTTP job API of a silo, version 1 (issue 17): submit a job (<c>POST /v1/jobs</c>, body = the job spec as JSON,
/// the same validation as the SDK and the same error fields), the newest jobs (<c>GET /v1/jobs</c>), a job's status
/// (<c>GET /v1/jobs/{id}</c>), its progress as
/// Server-Sent Events until it ends (<c>GET /v1/jobs/{id}/events</c>), cancel it (<c>DELETE /v1/jobs/{id}</c>).
/// With a cluster token, every request must carry it as <c>Authorization: Bearer</c>; the calls the API makes into the
/// cluster carry it too, as the SDK's do. Handlers take the <see cref="HttpContext"/> only (no reflection-bound
/// parameters), so the API works in the trimmed CLI.
/// </summary>
public static class JobApi
{
    /// <summary>Largest request body: a job spec is a few hundred bytes.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>The SDK's retries of transient cluster failures (a status call times out after 3 s on a saturated silo).</summary>
    private static readonly Polly.ResiliencePipeline Calls = RingResilience.Create();

    /// <summary>How often the event stream looks at the job.</summary>
    public static readonly TimeSpan EventPeriod = TimeSpan.FromMilliseconds(250);

    /// <summary>Everything a silo serves over HTTP for users: the job API, the cluster summary and the jobs page.</summary>
    public static IEndpointRouteBuilder MapHttpApi(this IEndpointRouteBuilder app, string? token) =>
        app.MapJobApi(token).MapSessionApi(token).MapClusterApi(token).MapJobsPage();

    public static IEndpointRouteBuilder MapJobApi(this IEndpointRouteBuilder app, string? token)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The document holds no secret: served without the token, so tools can read it before they hold one.
        app.MapGet("/v1/openapi.json", http =>
        {
            http.Response.ContentType = "application/json";
            return http.Response.WriteAsync(OpenApiDocument.Json);
        });
        app.MapPost("/v1/jobs", http => Guarded(http, token, SubmitAsync));
        app.MapGet("/v1/jobs", http => Guarded(http, token, ListAsync));
        app.MapGet("/v1/jobs/{id}", http => Guarded(http, token, StatusAsync));
        app.MapDelete("/v1/jobs/{id}", http => Guarded(http, token, CancelAsync));
        app.MapGet("/v1/jobs/{id}/events", http => Guarded(http, token, EventsAsync));
        return app;
    }

    /// <summary>Checks the bearer token (when the cluster has one) and turns refusals into 4xx answers with an <see cref="ApiError"/>.</summary>
    internal static async Task Guarded(HttpContext http, string? token, Func<HttpContext, Task> handler)
    {
        if (token is not null)
        {
            string? header = http.Request.Headers.Authorization;
            string? presented = header is not null && header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : null;
            if (!ClusterToken.Matches(presented, token))
            {
                http.Response.Headers.WWWAuthenticate = "Bearer";
                await WriteError(http, StatusCodes.Status401Unauthorized, ApiError.For("authorization",
                    presented is null ? "the cluster requires its token: send Authorization: Bearer <token>" : "the cluster refused the token"));
                return;
            }

            // The cluster's own check of client calls (ClusterTokenFilter) sees the same token.
            Orleans.Runtime.RequestContext.Set(ClusterToken.RequestContextKey, token);
        }

        try
        {
            await handler(http);
        }
        catch (SpecValidationException e)
        {
            await WriteError(http, StatusCodes.Status400BadRequest, ApiError.For(e.Field, e.Reason));
        }
        catch (ApiBody.BodyException e)
        {
            await WriteError(http, e.Status, ApiError.For("body", e.Message));
        }
        catch (Exception e) when (RingResilience.IsTransient(e) && !http.Response.HasStarted)
        {
            // Still failing after the retries: the cluster is busy or a silo is gone; the caller may try again.
            http.Response.Headers.RetryAfter = "1";
            await WriteError(http, StatusCodes.Status503ServiceUnavailable, ApiError.For("cluster", $"the cluster did not answer: {e.Message}"));
        }
    }

    private static async Task SubmitAsync(HttpContext http)
    {
        var spec = await ApiBody.ReadAsync(http, new JobSpec(), ApiJson.Default.JobSpec, MaxBodyBytes, "a job spec");
        JobSpecLimits.Check(spec);
        string id = RingAttentionClient.NewJobId();
        var coordinator = Coordinator(http, id);
        var status = await Retried(() => coordinator.SubmitAsync(spec), http);
        if (status.State == JobState.Rejected)
        {
            throw new SpecValidationException(status.ErrorField ?? "spec", status.Error ?? "the job was rejected");
        }

        http.Response.Headers.Location = $"/v1/jobs/{id}";
        await WriteJson(http, StatusCodes.Status201Created, status);
    }

    /// <summary>The statuses of the newest jobs (<c>?limit=N</c>, default 50, at most the directory's capacity), newest first.</summary>
    private static async Task ListAsync(HttpContext http)
    {
        int limit = 50;
        if (http.Request.Query.TryGetValue("limit", out var given)
            && (!int.TryParse(given, System.Globalization.CultureInfo.InvariantCulture, out limit) || limit is < 1 or > IJobDirectoryGrain.Capacity))
        {
            throw new SpecValidationException("limit", $"limit must be a number from 1 to {IJobDirectoryGrain.Capacity}");
        }

        var factory = http.RequestServices.GetRequiredService<IGrainFactory>();
        var ids = await Retried(() => factory.GetGrain<IJobDirectoryGrain>(0).ListAsync(limit), http);
        var statuses = await Task.WhenAll(ids.Select(id => Retried(factory.GetGrain<IJobCoordinatorGrain>(id).GetStatusAsync, http)));
        await Write(http, StatusCodes.Status200OK, [.. statuses.Where(s => s.State != JobState.Unknown)], ApiJson.Default.JobStatusArray);
    }

    private static async Task StatusAsync(HttpContext http)
    {
        var coordinator = Coordinator(http, JobId(http));
        var status = await Retried(coordinator.GetStatusAsync, http);
        if (status.State == JobState.Unknown)
        {
            await WriteError(http, StatusCodes.Status404NotFound, ApiError.For("id", $"no job '{JobId(http)}' on this cluster"));
            return;
        }

        await WriteJson(http, StatusCodes.Status200OK, status);
    }

    private static async Task CancelAsync(HttpContext http)
    {
        var coordinator = Coordinator(http, JobId(http));
        if ((await Retried(coordinator.GetStatusAsync, http)).State == JobState.Unknown)
        {
            await WriteError(http, StatusCodes.Status404NotFound, ApiError.For("id", $"no job '{JobId(http)}' on this cluster"));
            return;
        }

        await WriteJson(http, StatusCodes.Status200OK, await Retried(coordinator.CancelAsync, http));
    }

    /// <summary>
    /// <c>event: status</c> with the job's status as data whenever its state or steps change, until it ends (the last
    /// event is the final status) or the caller goes away.
    /// </summary>
    private static async Task EventsAsync(HttpContext http)
    {
        var coordinator = Coordinator(http, JobId(http));
        var status = await Retried(coordinator.GetStatusAsync, http);
        if (status.State == JobState.Unknown)
        {
            await WriteError(http, StatusCodes.Status404NotFound, ApiError.For("id", $"no job '{JobId(http)}' on this cluster"));
            return;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var ct = http.RequestAborted;
        JobStatus? last = null;
        try
        {
            while (true)
            {
                if (last is null || status.State != last.State || status.StepsDone != last.StepsDone)
                {
                    await http.Response.WriteAsync("event: status\ndata: ", ct);
                    await JsonSerializer.SerializeAsync(http.Response.Body, status, ApiJson.Default.JobStatus, ct);
                    await http.Response.WriteAsync("\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                }

                if (status.State.IsFinal())
                {
                    return;
                }

                last = status;
                await Task.Delay(EventPeriod, ct);
                status = await Retried(coordinator.GetStatusAsync, http);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The caller closed the stream; the job goes on.
        }
    }

    /// <summary>A grain call with the SDK's retries of transient failures (every call here is idempotent).</summary>
    internal static async Task<T> Retried<T>(Func<Task<T>> call, HttpContext http) =>
        await Calls.ExecuteAsync(async _ => await call(), http.RequestAborted);

    private static IJobCoordinatorGrain Coordinator(HttpContext http, string id) =>
        http.RequestServices.GetRequiredService<IGrainFactory>().GetGrain<IJobCoordinatorGrain>(id);

    private static string JobId(HttpContext http) => RouteId(http, "a job id");

    /// <summary>The route's {id}, checked: ids name grains and files, so only a safe alphabet passes.</summary>
    internal static string RouteId(HttpContext http, string what)
    {
        string id = http.Request.RouteValues["id"] as string ?? "";
        if (id.Length is 0 or > 128 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new SpecValidationException("id", $"{what} is 1 to 128 letters, digits, '-', '_' or '.'");
        }

        return id;
    }

    private static Task WriteJson(HttpContext http, int code, JobStatus status) => Write(http, code, status, ApiJson.Default.JobStatus);

    /// <summary>An answer of the API: the status code and one value of a generated JSON contract.</summary>
    internal static async Task Write<T>(HttpContext http, int code, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> contract)
    {
        http.Response.StatusCode = code;
        http.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(http.Response.Body, value, contract, http.RequestAborted);
    }

    internal static Task WriteError(HttpContext http, int code, ApiError error) => Write(http, code, error, ApiJson.Default.ApiError);
}
