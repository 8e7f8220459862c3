using System.Text.Json;
using System.Text.Json.Serialization;

namespace RingAttention.Silo.Api;

/// <summary>
/// JSON of the HTTP API, generated at build time (no reflection: the silo also runs inside the trimmed <c>ringattn</c>):
/// camelCase names, enums as their names.
/// </summary>
// Named float literals: a session's lse is -Infinity for a row that saw no key, which plain JSON numbers cannot carry.
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(JobSpec))]
[JsonSerializable(typeof(JobStatus))]
[JsonSerializable(typeof(JobStatus[]))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(RingTotals))]
[JsonSerializable(typeof(ClusterSummary))]
[JsonSerializable(typeof(Contracts.Sessions.SessionSpec))]
[JsonSerializable(typeof(Contracts.Sessions.SessionRows))]
[JsonSerializable(typeof(Contracts.Sessions.SessionStatus))]
[JsonSerializable(typeof(Contracts.Sessions.SessionAnswer))]
[JsonSerializable(typeof(SessionAttendRequest))]
[JsonSerializable(typeof(string[]))]
public sealed partial class ApiJson : JsonSerializerContext;
