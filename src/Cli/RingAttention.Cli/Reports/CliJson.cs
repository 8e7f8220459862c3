using System.Text.Json.Serialization;

namespace RingAttention.Cli.Reports;

/// <summary>
/// Source-generated serialization of everything --json prints: no reflection, so a trimmed single-file
/// <c>ringattn</c> serializes exactly as the untrimmed one.
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunReport))]
[JsonSerializable(typeof(DemoReport))]
[JsonSerializable(typeof(GenReport))]
[JsonSerializable(typeof(VerificationSummary))]
[JsonSerializable(typeof(ErrorReport))]
[JsonSerializable(typeof(SubmitReport))]
[JsonSerializable(typeof(KernelBenchReport))]
[JsonSerializable(typeof(DecodeBenchReport))]
[JsonSerializable(typeof(RingBenchReport))]
[JsonSerializable(typeof(LinearBenchReport))]
[JsonSerializable(typeof(PeerBenchReport))]
[JsonSerializable(typeof(Contracts.Sessions.SessionStatus))]
[JsonSerializable(typeof(SessionAttendReport))]
[JsonSerializable(typeof(SessionListReport))]
public sealed partial class CliJson : JsonSerializerContext;
