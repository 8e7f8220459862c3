using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RingAttention.Attention;
using RingAttention.Contracts.Sessions;
using RingAttention.Tensors;

namespace RingAttention.Silo.Api;

/// <summary>
/// Sessions over HTTP (issues 15 and 17), the SDK's session calls one for one: create (<c>PUT /v1/sessions/{id}</c>,
/// body = the session spec), list, stats (<c>GET</c>), append (<c>POST .../append</c>, body = the rows), attend
/// (<c>POST .../attend</c>, q as base64; o and lse come back as JSON arrays) and drop (<c>DELETE</c>). Guarded and
/// retried like the job API; a session's refusal (field and rule) is a 400, an unknown session a 404. An append
/// without <c>afterTokens</c> gets the session's length filled in, as the SDK does, so retrying it cannot append twice.
/// </summary>
public static class SessionApi
{
    /// <summary>Largest attend body: the queries of one call, which the session answers in one message.</summary>
    public const int MaxAttendBytes = 16 << 20;

    public static IEndpointRouteBuilder MapSessionApi(this IEndpointRouteBuilder app, string? token)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/v1/sessions", http => JobApi.Guarded(http, token, ListAsync));
        app.MapPut("/v1/sessions/{id}", http => JobApi.Guarded(http, token, CreateAsync));
        app.MapGet("/v1/sessions/{id}", http => JobApi.Guarded(http, token, StatsAsync));
        app.MapPost("/v1/sessions/{id}/append", http => JobApi.Guarded(http, token, AppendAsync));
        app.MapPost("/v1/sessions/{id}/attend", http => JobApi.Guarded(http, token, AttendAsync));
        app.MapDelete("/v1/sessions/{id}", http => JobApi.Guarded(http, token, DropAsync));
        return app;
    }

    private static async Task ListAsync(HttpContext http)
    {
        var ids = await JobApi.Retried(() => Factory(http).GetGrain<ISessionDirectoryGrain>(0).ListAsync(), http);
        await JobApi.Write(http, StatusCodes.Status200OK, ids.ToArray(), ApiJson.Default.StringArray);
    }

    private static async Task CreateAsync(HttpContext http)
    {
        var spec = await ApiBody.ReadAsync(http, new SessionSpec(), ApiJson.Default.SessionSpec, JobApi.MaxBodyBytes, "a session spec");
        var status = Checked(await Session(http).CreateAsync(spec));
        http.Response.Headers.Location = $"/v1/sessions/{status.SessionId}";
        await JobApi.Write(http, StatusCodes.Status201Created, status, ApiJson.Default.SessionStatus);
    }

    private static async Task StatsAsync(HttpContext http)
    {
        var status = await JobApi.Retried(Session(http).GetStatsAsync, http);
        if (!status.Exists)
        {
            await JobApi.WriteError(http, StatusCodes.Status404NotFound, ApiError.For("id", $"no session '{Id(http)}' on this cluster"));
            return;
        }

        await JobApi.Write(http, StatusCodes.Status200OK, status, ApiJson.Default.SessionStatus);
    }

    private static async Task AppendAsync(HttpContext http)
    {
        var rows = await ApiBody.ReadAsync(http, new SessionRows(), ApiJson.Default.SessionRows, JobApi.MaxBodyBytes, "session rows");
        var session = Session(http);
        if (rows.AfterTokens is null)
        {
            var now = await JobApi.Retried(session.GetStatsAsync, http);
            rows = rows with { AfterTokens = now.Exists ? now.Tokens : null };
        }

        var status = Checked(await JobApi.Retried(() => session.AppendAsync(rows), http));
        await JobApi.Write(http, StatusCodes.Status200OK, status, ApiJson.Default.SessionStatus);
    }

    private static async Task AttendAsync(HttpContext http)
    {
        var request = await ApiBody.ReadAsync(http, new SessionAttendRequest(), ApiJson.Default.SessionAttendRequest, MaxAttendBytes, "session queries");
        if (!ElementTypeExtensions.TryParseUser(request.DType, out var type) || type is not (ElementType.F32 or ElementType.F16 or ElementType.BF16))
        {
            throw new SpecValidationException("dType", $"'{request.DType}' is not f32, f16 or bf16");
        }

        byte[] data;
        try
        {
            data = Convert.FromBase64String(request.Data);
        }
        catch (FormatException)
        {
            throw new SpecValidationException("data", "the queries must be base64 of row-major bytes");
        }

        var queries = new SessionQueries { Type = type, Rows = request.Rows, Data = data, Offset = request.Offset };
        var answer = await JobApi.Retried(() => Session(http).AttendAsync(queries), http);
        if (answer.Error is { } refusal)
        {
            throw new SpecValidationException(refusal.Field, refusal.Message);
        }

        await JobApi.Write(http, StatusCodes.Status200OK, answer, ApiJson.Default.SessionAnswer);
    }

    private static async Task DropAsync(HttpContext http)
    {
        var session = Session(http);
        if (!(await JobApi.Retried(session.GetStatsAsync, http)).Exists)
        {
            await JobApi.WriteError(http, StatusCodes.Status404NotFound, ApiError.For("id", $"no session '{Id(http)}' on this cluster"));
            return;
        }

        await JobApi.Write(http, StatusCodes.Status200OK, Checked(await session.DropAsync()), ApiJson.Default.SessionStatus);
    }

    private static SessionStatus Checked(SessionStatus status) =>
        status.Error is { } refusal ? throw new SpecValidationException(refusal.Field, refusal.Message) : status;

    private static IGrainFactory Factory(HttpContext http) => http.RequestServices.GetRequiredService<IGrainFactory>();

    private static ISessionGrain Session(HttpContext http) => Factory(http).GetGrain<ISessionGrain>(Id(http));

    private static string Id(HttpContext http) => JobApi.RouteId(http, "a session id");
}
