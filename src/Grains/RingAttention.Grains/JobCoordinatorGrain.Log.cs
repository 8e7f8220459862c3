using Microsoft.Extensions.Logging;
using RingAttention.Grains.Ring;
using RingAttention.Tensors;

namespace RingAttention.Grains;

/// <summary>The coordinator's log events (source-generated).</summary>
public sealed partial class JobCoordinatorGrain
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Job {JobId} started: {Tokens} tokens, {Heads}/{KvHeads} heads, dim {HeadDim}, {DType}, {Shards} shards ({Layout})")]
    private partial void LogJobStarted(string jobId, int tokens, int heads, int kvHeads, int headDim, ElementType dType, int shards, ShardLayout layout);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Job {JobId} completed in {Seconds:0.000} s ({Attempts} attempts)")]
    private partial void LogJobCompleted(string jobId, double seconds, int attempts);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Job {JobId} rejected: {Field}: {Reason}")]
    private partial void LogJobRejected(string jobId, string field, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Job {JobId} failed: {Error}")]
    private partial void LogJobFailed(string jobId, string error);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "Job {JobId} cancelled")]
    private partial void LogJobCancelled(string jobId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Job {JobId}: could not cancel shard {Index}")]
    private partial void LogCancelFailed(Exception exception, string jobId, int index);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Job {JobId}: starting attempt {Attempt}: {Reason}")]
    private partial void LogRetry(string jobId, int attempt, string reason);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Job {JobId} resumed on this silo after {Attempts} attempts elsewhere")]
    private partial void LogJobResumed(string jobId, int attempts);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Warning, Message = "Job {JobId}: another activation owns the job; this one stands down")]
    private partial void LogSuperseded(string jobId);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Job {JobId}: could not save the job record; the job runs on")]
    private partial void LogRecordNotSaved(Exception exception, string jobId);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Job {JobId}: no client contact for {Lease} s; cancelling")]
    private partial void LogLeaseExpired(string jobId, int lease);
}
