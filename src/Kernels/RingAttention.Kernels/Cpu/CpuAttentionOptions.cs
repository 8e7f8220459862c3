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
    /// Query rows per tile (a multiple of 16). <value>Default: 128.</value> Each key tile is packed and read from L3 once
    /// per query tile, so wider query tiles move less data; wider tiles also waste more work on the diagonal of a
    /// causal mask (about QueryTile / 2T of it). One thread, T = 2048, GFLOP/s (D 64 / 128, f32 non-causal):
    /// 64 → 177 / 197, 128 → 197 / 209, 256 → 207 / 221, but causal D 64 drops from 180 (128) to 174 (256).
    /// </summary>
    public int QueryTile { get; set; } = 128;

    /// <summary>
    /// Key rows per tile (a multiple of 16). <value>Default: 64.</value> The score tile (KeyTile × QueryTile floats,
    /// 32 KiB at 64 × 128) and one V panel (16 KiB) share the 48 KiB L1; 32, 64 and 128 measured within 3%.
    /// </summary>
    public int KeyTile { get; set; } = 64;

    /// <summary>
    /// Widest SIMD the kernels may use: 512 or 256. <value>Default: 512</value> (used only where the JIT accelerates
    /// Vector512; 256-bit otherwise). 256 forces the AVX2 path, e.g. to test it or to compare the two.
    /// </summary>
    public int MaxVectorBits { get; set; } = 512;

    /// <summary>
    /// Whether calls with few query rows (rows × group size ≤ 8: decode) take the decode loop. <value>Default: true.</value>
    /// False runs them through the tile loop, which pads the rows to whole panels (the CPU benchmark's --decode compares).
    /// </summary>
    public bool DecodeLoop { get; set; } = true;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option that breaks its rule.</summary>
    public CpuAttentionOptions Validate()
    {
        if (MaxDegreeOfParallelism < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDegreeOfParallelism), MaxDegreeOfParallelism, $"{nameof(MaxDegreeOfParallelism)} ({MaxDegreeOfParallelism}) must be at least 1");
        }

        if (MaxVectorBits is not (256 or 512))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxVectorBits), MaxVectorBits, $"{nameof(MaxVectorBits)} ({MaxVectorBits}) must be 256 or 512");
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
