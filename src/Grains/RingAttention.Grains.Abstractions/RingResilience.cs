using Polly;
using Polly.Retry;

namespace RingAttention.Contracts;

/// <summary>
/// Retries of grain calls that failed for a transient cluster reason: the target silo died or is restarting, a
/// message was rejected during a membership change, a gateway dropped. Only calls that are idempotent by design go
/// through it (submit by job id, status, start by attempt, cancel). An oversized message also surfaces as
/// <see cref="SiloUnavailableException"/>, but no message here can be oversized: bulk K/V bytes never travel in a
/// grain call, every request is a small spec or descriptor, and a session's attend carries at most 16M output floats
/// (64 MiB, below Orleans' 100 MB message limit).
/// </summary>
public static class RingResilience
{
    public static bool IsTransient(Exception exception) => exception is SiloUnavailableException
        or OrleansMessageRejectionException
        or Orleans.Runtime.Messaging.ConnectionFailedException
        or GatewayTooBusyException
        or TimeoutException;

    /// <summary>
    /// Runs <paramref name="call"/> through the pipeline, continuing on the caller's context after every delay: a
    /// retry from a grain must run on that grain's scheduler (Polly continues on the thread pool by default, where
    /// grain services refuse to be used).
    /// </summary>
    public static async Task<T> ExecuteOnContextAsync<T>(this ResiliencePipeline pipeline, Func<Task<T>> call, CancellationToken ct = default)
    {
        var context = ResilienceContextPool.Shared.Get(continueOnCapturedContext: true, ct);
        try
        {
            return await pipeline.ExecuteAsync(async (_, state) => await state(), context, call);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <inheritdoc cref="ExecuteOnContextAsync{T}"/>
    public static Task ExecuteOnContextAsync(this ResiliencePipeline pipeline, Func<Task> call, CancellationToken ct = default) =>
        pipeline.ExecuteOnContextAsync(async () =>
        {
            await call();
            return true;
        }, ct);

    /// <summary>Exponential backoff with jitter from 200 ms, <paramref name="retries"/> retries.</summary>
    public static ResiliencePipeline Create(int retries = 5) => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = retries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
        })
        .Build();

    /// <summary>
    /// For a client following a job: keeps retrying for about two minutes (delays capped at 5 s). A killed silo takes
    /// its gateway with it and membership needs a few probe periods to declare it dead; until then calls routed through
    /// it fail. The five quick retries of <see cref="Create"/> (about 6 s) once ran out and crashed the CLI.
    /// </summary>
    public static ResiliencePipeline CreatePatient() => new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = 30,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(5),
        })
        .Build();
}
