using RingAttention.Contracts.Sessions;
using RingAttention.Kernels;

namespace RingAttention.Grains.Sessions;

/// <summary>A partial (or merged) result as a session answer: a shard's answer to its parent or to the session grain,
/// and the session grain's merge of a flat attend (<see cref="TreeAnswers"/>).</summary>
internal static class PartialAnswer
{
    public static SessionAnswer Of(PartialResult result, int firstPosition) => new()
    {
        FirstPosition = firstPosition,
        Rows = result.Rows,
        Heads = result.Heads,
        HeadDim = result.HeadDim,
        Output = result.Output,
        Lse = result.Lse,
    };
}
