namespace RingAttention.Grains.Jobs;

/// <summary>One run of a job's ring: which silo each shard runs on, and what each has finished.</summary>
public sealed class RingAttempt
{
    private readonly int[] _steps;
    private readonly bool[] _done;
    private readonly RingTotals[] _totals;
    private readonly SortedSet<string> _backends = new(StringComparer.Ordinal);

    public RingAttempt(long id, int shards, string partialPath, string token)
    {
        Id = id;
        PartialPath = partialPath;
        Token = token;
        _steps = new int[shards];
        _done = new bool[shards];
        _totals = Enumerable.Repeat(RingTotals.Zero, shards).ToArray();
        Silos = new string?[shards];
    }

    public long Id { get; }

    /// <summary>This attempt's own temp output: shards of an older attempt can never write into it.</summary>
    public string PartialPath { get; }

    public string Token { get; }

    /// <summary>Silo address each shard reported when it started (null until it did).</summary>
    public string?[] Silos { get; }

    public int Shards => _done.Length;

    public int StepsDone => _steps.Sum();

    public int ShardsDone => _done.Count(d => d);

    public bool AllDone => _done.All(d => d);

    public string Backends => string.Join(",", _backends);

    public RingTotals Totals => _totals.Aggregate(RingTotals.Zero, (sum, t) => sum.Add(t));

    /// <summary>What each shard last reported.</summary>
    public IReadOnlyList<ShardProgress> Progress() =>
        [.. Enumerable.Range(0, Shards).Select(i => new ShardProgress
        {
            Index = i,
            Silo = Silos[i],
            StepsDone = _steps[i],
            Done = _done[i],
            ComputeSeconds = _totals[i].ComputeSeconds,
            WaitSeconds = _totals[i].WaitSeconds,
        })];

    public bool Has(int shard) => shard >= 0 && shard < _done.Length;

    public bool IsDone(int shard) => _done[shard];

    /// <summary>
    /// A step report. Reports are one-way messages and may arrive late, even after the shard's done report: an older
    /// one must not replace newer counters.
    /// </summary>
    public void Step(int shard, int stepsDone, RingTotals totals)
    {
        if (_done[shard] || stepsDone < _steps[shard])
        {
            return;
        }

        _steps[shard] = stepsDone;
        _totals[shard] = totals;
    }

    public void Done(int shard, RingTotals totals, string backend)
    {
        _done[shard] = true;
        _steps[shard] = Shards;
        _totals[shard] = totals;
        _backends.Add(backend);
    }

    /// <summary>An id larger than <paramref name="previous"/> and than any id an earlier activation could have used.</summary>
    public static long NextId(long previous) => Math.Max(previous + 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
}
