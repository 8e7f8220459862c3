using System.Collections.Frozen;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace RingAttention.Silo.Api;

/// <summary>
/// The jobs page at <c>/</c> (issue 17): three static files built into the silo's assembly (no build step, nothing to
/// install, served by the trimmed <c>ringattn silo</c> too) that read the job API. The files hold no data and no secret,
/// so they are served without the token; every call the page makes carries it (the page asks for it on a 401).
/// </summary>
public static class JobsPage
{
    private static readonly FrozenDictionary<string, (string ContentType, byte[] Bytes)> Files = Load();

    public static IEndpointRouteBuilder MapJobsPage(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGet("/", http => Serve(http, "index.html"));
        app.MapGet("/jobs.js", http => Serve(http, "jobs.js"));
        app.MapGet("/jobs.css", http => Serve(http, "jobs.css"));
        return app;
    }

    private static Task Serve(HttpContext http, string name)
    {
        var (contentType, bytes) = Files[name];
        http.Response.ContentType = contentType;
        // Only our own files run: no inline script, nothing from elsewhere, and no framing of the page.
        http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        http.Response.Headers.CacheControl = "no-cache";
        return http.Response.Body.WriteAsync(bytes, http.RequestAborted).AsTask();
    }

    private static FrozenDictionary<string, (string, byte[])> Load()
    {
        var assembly = typeof(JobsPage).Assembly;
        var files = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
        foreach (var (name, type) in new[] { ("index.html", "text/html; charset=utf-8"), ("jobs.js", "text/javascript; charset=utf-8"), ("jobs.css", "text/css; charset=utf-8") })
        {
            using var stream = assembly.GetManifestResourceStream("jobs-page/" + name)
                ?? throw new InvalidOperationException($"the silo's assembly lacks its jobs page file '{name}'");
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            files[name] = (type, memory.ToArray());
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
