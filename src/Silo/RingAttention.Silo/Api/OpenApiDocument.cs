using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace RingAttention.Silo.Api;

/// <summary>
/// The API's OpenAPI 3.0 document (<c>GET /v1/openapi.json</c>). Paths are written here; the schemas of the job spec,
/// the status and the error are derived from the generated JSON contracts (<see cref="ApiJson"/>), so a field added to
/// <c>JobSpec</c> appears in the document without anyone remembering to add it.
/// </summary>
public static class OpenApiDocument
{
    private static readonly Lazy<string> Text = new(() => Build().ToJsonString());

    public static string Json => Text.Value;

    private static JsonObject Build()
    {
        var schemas = new JsonObject();
        foreach (var info in new JsonTypeInfo[]
        {
            ApiJson.Default.JobSpec, ApiJson.Default.JobStatus, ApiJson.Default.ShardProgress, ApiJson.Default.ApiError, ApiJson.Default.RingTotals,
            ApiJson.Default.ClusterSummary, ApiJson.Default.SiloSummary, ApiJson.Default.DeviceSummary,
            ApiJson.Default.SessionSpec, ApiJson.Default.SessionRows, ApiJson.Default.SessionStatus, ApiJson.Default.SessionAnswer,
            ApiJson.Default.SessionAttendRequest, ApiJson.Default.SessionShardStats, ApiJson.Default.SessionRefusal, ApiJson.Default.AttentionMask,
        })
        {
            schemas[info.Type.Name] = Schema(info);
        }

        return new JsonObject
        {
            ["openapi"] = "3.0.3",
            ["info"] = new JsonObject { ["title"] = "RingAttention job API", ["version"] = "1" },
            ["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() }),
            ["paths"] = new JsonObject
            {
                ["/v1/jobs"] = new JsonObject
                {
                    ["post"] = Operation("Submit a job", body: "JobSpec", answers: [("201", "the job's status", "JobStatus", false), .. Errors("400", "401", "413")]),
                    ["get"] = Operation("The newest jobs, newest first (query: limit, 1-1000, default 50)", answers: [("200", "their statuses", "JobStatus", true), .. Errors("400", "401")]),
                },
                ["/v1/jobs/{id}"] = new JsonObject
                {
                    ["parameters"] = IdParameter(),
                    ["get"] = Operation("A job's status", answers: [("200", "the status", "JobStatus", false), .. Errors("401", "404")]),
                    ["delete"] = Operation("Cancel a job (its output never appears)", answers: [("200", "the status", "JobStatus", false), .. Errors("401", "404")]),
                },
                ["/v1/sessions"] = new JsonObject
                {
                    ["get"] = Operation("Ids of the sessions on the cluster's session storage", answers: [("200", "the ids", null, true), .. Errors("401")]),
                },
                ["/v1/sessions/{id}"] = new JsonObject
                {
                    ["parameters"] = IdParameter(),
                    ["put"] = Operation("Create a session from a safetensors file of k, v (and q)", body: "SessionSpec", answers: [("201", "its status", "SessionStatus", false), .. Errors("400", "401", "413")]),
                    ["get"] = Operation("A session's shape, length and pages", answers: [("200", "its status", "SessionStatus", false), .. Errors("401", "404")]),
                    ["delete"] = Operation("Drop a session: pages back to the pools, storage deleted", answers: [("200", "its last status", "SessionStatus", false), .. Errors("401", "404")]),
                },
                ["/v1/sessions/{id}/append"] = new JsonObject
                {
                    ["parameters"] = IdParameter(),
                    ["post"] = Operation("Append rows (chunked prefill)", body: "SessionRows", answers: [("200", "its status", "SessionStatus", false), .. Errors("400", "401", "413")]),
                },
                ["/v1/sessions/{id}/attend"] = new JsonObject
                {
                    ["parameters"] = IdParameter(),
                    ["post"] = Operation("Attend queries (base64 rows) against everything cached", body: "SessionAttendRequest", answers: [("200", "o and lse", "SessionAnswer", false), .. Errors("400", "401", "413")]),
                },
                ["/v1/cluster"] = new JsonObject
                {
                    ["get"] = Operation("The active silos: devices, memory, CPU", answers: [("200", "the silos", "ClusterSummary", false), .. Errors("401")]),
                },
                ["/v1/jobs/{id}/events"] = new JsonObject
                {
                    ["parameters"] = IdParameter(),
                    ["get"] = new JsonObject
                    {
                        ["summary"] = "Server-Sent Events: 'event: status' with a JobStatus as data at every change, until the job ends",
                        ["responses"] = new JsonObject
                        {
                            ["200"] = new JsonObject { ["description"] = "text/event-stream", ["content"] = new JsonObject { ["text/event-stream"] = new JsonObject() } },
                        },
                    },
                },
            },
            ["components"] = new JsonObject
            {
                ["schemas"] = schemas,
                ["securitySchemes"] = new JsonObject { ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "the cluster token (Silo:ClusterToken), when the cluster has one" } },
            },
        };
    }

    private static JsonArray IdParameter() =>
        new(new JsonObject { ["name"] = "id", ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });

    private static IEnumerable<(string Code, string Description, string? Schema, bool Array)> Errors(params string[] codes) =>
        codes.Select(c => (c, "{field, rule, message}", (string?)"ApiError", false));

    private static JsonObject Operation(string summary, string? body = null, IEnumerable<(string Code, string Description, string? Schema, bool Array)>? answers = null)
    {
        var responses = new JsonObject();
        foreach (var (code, description, schema, array) in answers ?? [])
        {
            JsonNode reference = schema is null ? new JsonObject { ["type"] = "string" } : new JsonObject { ["$ref"] = $"#/components/schemas/{schema}" };
            responses[code] = new JsonObject
            {
                ["description"] = description,
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = array ? new JsonObject { ["type"] = "array", ["items"] = reference } : reference } },
            };
        }

        var operation = new JsonObject { ["summary"] = summary, ["responses"] = responses };
        if (body is not null)
        {
            operation["requestBody"] = new JsonObject
            {
                ["required"] = true,
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["$ref"] = $"#/components/schemas/{body}" } } },
            };
        }

        return operation;
    }

    private static JsonObject Schema(JsonTypeInfo info)
    {
        var properties = new JsonObject();
        foreach (var property in info.Properties)
        {
            var schema = TypeSchema(property.PropertyType);
            if (property.Set is null)
            {
                schema["readOnly"] = true;
            }

            properties[property.Name] = schema;
        }

        return new JsonObject { ["type"] = "object", ["properties"] = properties };
    }

    private static JsonObject TypeSchema(Type type)
    {
        var inner = Nullable.GetUnderlyingType(type);
        if (inner is not null)
        {
            var schema = TypeSchema(inner);
            schema["nullable"] = true;
            return schema;
        }

        if (type.IsEnum)
        {
            return new JsonObject { ["type"] = "string", ["enum"] = new JsonArray([.. Enum.GetNames(type).Select(n => (JsonNode)n)]) };
        }

        if (type.IsArray)
        {
            return new JsonObject { ["type"] = "array", ["items"] = TypeSchema(type.GetElementType()!) };
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            return new JsonObject { ["type"] = "array", ["items"] = TypeSchema(type.GetGenericArguments()[0]) };
        }

        return Type.GetTypeCode(type) switch
        {
            TypeCode.Boolean => new JsonObject { ["type"] = "boolean" },
            TypeCode.Int32 => new JsonObject { ["type"] = "integer", ["format"] = "int32" },
            TypeCode.Int64 => new JsonObject { ["type"] = "integer", ["format"] = "int64" },
            TypeCode.Single => new JsonObject { ["type"] = "number", ["format"] = "float" },
            TypeCode.Double => new JsonObject { ["type"] = "number", ["format"] = "double" },
            TypeCode.String => new JsonObject { ["type"] = "string" },
            _ => new JsonObject { ["$ref"] = $"#/components/schemas/{type.Name}" },
        };
    }
}
