namespace RingAttention.Kernels.Cpu;

/// <summary>Knobs of <see cref="CpuAttentionBackend"/>. Defaults are the measured best on the Zen 5 dev box (bench/results/cpu-kernel.md).</summary>
public sealed class CpuAttentionOptions
{
    /// <summary>Largest tile edge either option accepts; scratch grows with QueryTile × KeyTile.</summary>
    public const int MaxTile = 512;

    /// <summary>
    /// Worker threads for one Accumulate call. <value>Default: <see cref="Environment.ProcessorCount"/>.</value>
    /// Lower it when several shards share one machine.
    /// </summary>
    public int MaxDegreeOfParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// Query rows per tile (a multiple of 16). <value>Default: 64.</value> Every key tile is converted to f32 once per
    /// query tile, so a larger tile amortises conversion; 64 keeps Q^T (64 × 128 floats = 32 KiB) in L1.
    /// </summary>
    public int QueryTile { get; set; } = 64;

    /// <summary>
    /// Key rows per tile (a multiple of 16). <value>Default: 64.</value> The online-softmax rescale of O runs once per key
    /// tile, so larger tiles rescale less often; the score tile (KeyTile × QueryTile floats) must stay in L1.
    /// </summary>
    public int KeyTile { get; set; } = 64;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option that breaks its rule.</summary>
    public CpuAttentionOptions Validate()
    {
        if (MaxDegreeOfParallelism < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, $"{nameof(MaxDegreeOfParallelism)} ({MaxDegreeOfParallelism}) must be at least 1");
        }

        CheckTile(QueryTile, nameof(QueryTile));
        CheckTile(KeyTile, nameof(KeyTile));
        return this;
    }

    private static void CheckTile(int value, string name)
    {
        if (value < 16 || value > MaxTile || value % 16 != 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} ({value}) must be a multiple of 16 between 16 and {MaxTile}");
        }
    }
}
