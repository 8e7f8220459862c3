using RingAttention.Attention;
using RingAttention.Grains.Ring;
using RingAttention.Kernels.Linear;

namespace RingAttention.Grains.Linear;

/// <summary>What an exchange needs from its shard: where it is, how to reach the others, how long to wait.</summary>
/// <param name="Send">Delivers a post to a shard (this shard's own inbox when it is the target).</param>
public sealed record LinearExchangeContext(
    ShardPlan Plan,
    LinearAttentionSpec Spec,
    LinearSpanOrder Order,
    LinearStateInbox Inbox,
    TimeSpan Timeout,
    Func<int, LinearStatePost, Task> Send,
    RingCounters Counters);

/// <summary>
/// The one step of a linear-attention job that crosses shards: from each span's own state to
/// the state each span starts from, by the job's <see cref="LinearExchange"/>. Causal, span j starts from the fold of
/// spans 0..j−1; not causal, every span gets the whole sequence's state. Only states move: O(heads · D²) a message.
/// </summary>
public static class LinearStateExchange
{
    /// <param name="own">This shard's span states in its own span order (an empty span's state is empty).</param>
    /// <returns>The incoming state of each of this shard's spans, in the same order.</returns>
    public static Task<LinearState[]> RunAsync(LinearExchangeContext context, IReadOnlyList<LinearState> own, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(own);
        return context.Plan.Spec.Exchange == LinearExchange.Ring ? RingAsync(context, own, ct) : GatherAsync(context, own, ct);
    }

    /// <summary>One round: each span's state to every shard that needs it; each shard folds what is before its spans.</summary>
    private static async Task<LinearState[]> GatherAsync(LinearExchangeContext context, IReadOnlyList<LinearState> own, CancellationToken ct)
    {
        var (plan, spec, order) = (context.Plan, context.Spec, context.Order);
        int[] sequence = order.OfShard(plan.Index, own.Count);
        var sends = new List<Task>();
        for (int local = 0; local < own.Count; local++)
        {
            int j = sequence[local];
            if (j < 0)
            {
                continue;
            }

            // Causal, only the owners of later spans read span j's state; not causal, every shard does.
            var readers = Enumerable.Range(spec.Causal ? j + 1 : 0, order.Count - (spec.Causal ? j + 1 : 0)).Select(order.Owner).Distinct();
            foreach (int reader in readers)
            {
                sends.Add(SendAsync(context, reader, j, own[local]));
            }
        }

        await Task.WhenAll(sends).ConfigureAwait(false);
        int needed = spec.Causal ? sequence.Max() : order.Count;
        var states = new LinearState[Math.Max(needed, 0)];
        for (int j = 0; j < states.Length; j++)
        {
            states[j] = await TakeAsync(context, j, ct).ConfigureAwait(false);
        }

        var incoming = new LinearState[own.Count];
        LinearState? total = spec.Causal ? null : Fold(spec, states, states.Length);
        for (int local = 0; local < own.Count; local++)
        {
            int j = sequence[local];
            incoming[local] = total ?? (j <= 0 ? LinearState.Empty(spec) : Fold(spec, states, j));
        }

        return incoming;
    }

    /// <summary>
    /// The chain: the owner of span j waits for the prefix before j, adds its own state and passes the prefix on; not
    /// causal, the last span's owner starts the total down the same chain (positions spans..2·spans−1).
    /// </summary>
    private static async Task<LinearState[]> RingAsync(LinearExchangeContext context, IReadOnlyList<LinearState> own, CancellationToken ct)
    {
        var (plan, spec, order) = (context.Plan, context.Spec, context.Order);
        int n = order.Count;
        int[] sequence = order.OfShard(plan.Index, own.Count);
        var mine = Enumerable.Range(0, own.Count).Where(l => sequence[l] >= 0).OrderBy(l => sequence[l]).ToArray();
        var incoming = new LinearState[own.Count];
        for (int l = 0; l < own.Count; l++)
        {
            incoming[l] = LinearState.Empty(spec);
        }

        foreach (int local in mine)
        {
            int j = sequence[local];
            var prefix = j == 0 ? LinearState.Empty(spec) : await TakeAsync(context, j, ct).ConfigureAwait(false);
            incoming[local] = prefix;
            var next = prefix.Clone();
            next.Append(spec, own[local]);
            if (j + 1 < n)
            {
                await SendAsync(context, order.Owner(j + 1), j + 1, next).ConfigureAwait(false);
            }
            else if (!spec.Causal)
            {
                await SendAsync(context, order.Owner(0), n, next).ConfigureAwait(false);
            }
        }

        if (!spec.Causal)
        {
            foreach (int local in mine)
            {
                int j = sequence[local];
                var total = await TakeAsync(context, n + j, ct).ConfigureAwait(false);
                incoming[local] = total;
                if (j + 1 < n)
                {
                    await SendAsync(context, order.Owner(j + 1), n + j + 1, total).ConfigureAwait(false);
                }
            }
        }

        return incoming;
    }

    /// <summary>States 0..count−1 folded in sequence order.</summary>
    private static LinearState Fold(LinearAttentionSpec spec, LinearState[] states, int count)
    {
        var result = LinearState.Empty(spec);
        for (int m = 0; m < count; m++)
        {
            result.Append(spec, states[m]);
        }

        return result;
    }

    private static async Task SendAsync(LinearExchangeContext context, int shard, int slot, LinearState state)
    {
        var post = new LinearStatePost
        {
            JobId = context.Plan.JobId,
            Attempt = context.Plan.Attempt,
            Slot = slot,
            Tokens = state.Tokens,
            S = state.S,
            Z = state.Z,
        };
        await context.Send(shard, post).ConfigureAwait(false);
        if (shard != context.Plan.Index)
        {
            context.Counters.SentState(post.Bytes);
        }
    }

    private static async Task<LinearState> TakeAsync(LinearExchangeContext context, int slot, CancellationToken ct)
    {
        var post = await context.Inbox.TakeAsync(context.Plan.Attempt, slot, context.Timeout, ct).ConfigureAwait(false);
        return LinearState.Wrap(context.Spec, post.Tokens, post.S, post.Z);
    }
}
