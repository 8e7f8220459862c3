using RingAttention.Grains.Sessions;

namespace RingAttention.Grains.Tests;

/// <summary>Where a session's rows go: every shard within one token of the others after any sequence of appends, each
/// row exactly once, and the same pieces however often they are computed (a re-activated shard must rebuild its pages).</summary>
public sealed class SessionAssignmentTests
{
    [Theory]
    [InlineData(1, 7)]
    [InlineData(4, 11)]
    [InlineData(8, 3)]
    [InlineData(5, 99)]
    public void RandomAppends_KeepShardsBalanced_EveryRowOnce(int shards, int seed)
    {
        var random = new Random(seed);
        var segments = new List<SegmentRecord>();
        int tokens = 0;
        for (int s = 0; s < 40; s++)
        {
            int n = random.Next(4) == 0 ? random.Next(1, 2000) : random.Next(1, 5);
            segments.Add(new SegmentRecord($"segment-{s + 1:D6}.safetensors", tokens, n));
            tokens += n;
            var pieces = SessionAssignment.Pieces("/sessions/x", segments, shards);
            var counts = pieces.Select(p => p.Sum(x => x.Positions.Count)).ToList();
            Assert.True(counts.Max() - counts.Min() <= 1, $"after segment {s}: {string.Join(",", counts)}");
            var positions = pieces.SelectMany(p => p.SelectMany(x => Enumerable.Range(x.Positions.Start, x.Positions.Count))).Order().ToList();
            Assert.Equal(Enumerable.Range(0, tokens), positions);
            Assert.Equal(pieces.Select(p => p.ToList()), SessionAssignment.Pieces("/sessions/x", segments, shards).Select(p => p.ToList()));
        }
    }
}
