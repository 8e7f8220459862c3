using System.Text.Json;
using System.Text.Json.Serialization;

namespace RingAttention.Silo.Api;

/// <summary>
/// JSON of the HTTP API, generated at build time (no reflection: the silo also runs inside the trimmed <c>ringattn</c>):
/// camelCase names, enums as their names.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JobSpec))]
[JsonSerializable(typeof(JobStatus))]
[JsonSerializable(typeof(JobStatus[]))]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(RingTotals))]
[JsonSerializable(typeof(ClusterSummary))]
public sealed partial class ApiJson : JsonSerializerContext;
