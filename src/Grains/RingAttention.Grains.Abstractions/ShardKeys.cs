namespace RingAttention.Contracts;

/// <summary>Grain keys of shard grains: job, index and ring size (placement needs all three).</summary>
public static class ShardKeys
{
    /// <summary>Grain key of shard <paramref name="index"/> of the <paramref name="count"/>-shard job <paramref name="jobId"/>.</summary>
    public static string ShardKey(string jobId, int index, int count) => $"{jobId}/{index}/{count}";

    /// <summary>Parses a shard grain key back into job id, index and ring size.</summary>
    public static (string JobId, int Index, int Count) ParseShardKey(string key)
    {
        int last = key.LastIndexOf('/');
        int middle = last > 0 ? key.LastIndexOf('/', last - 1) : -1;
        if (middle <= 0 || !int.TryParse(key.AsSpan(middle + 1, last - middle - 1), out int index) || !int.TryParse(key.AsSpan(last + 1), out int count))
        {
            throw new FormatException($"'{key}' is not a shard key of the form job/index/count");
        }

        return (key[..middle], index, count);
    }
}
