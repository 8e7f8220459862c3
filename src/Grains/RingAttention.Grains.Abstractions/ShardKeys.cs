namespace RingAttention.Contracts;

/// <summary>Grain keys of shard grains: "job/index".</summary>
public static class ShardKeys
{
    /// <summary>Grain key of shard <paramref name="index"/> of job <paramref name="jobId"/>.</summary>
    public static string ShardKey(string jobId, int index) => $"{jobId}/{index}";

    /// <summary>Parses a shard grain key back into job id and index.</summary>
    public static (string JobId, int Index) ParseShardKey(string key)
    {
        int slash = key.LastIndexOf('/');
        if (slash <= 0 || !int.TryParse(key.AsSpan(slash + 1), out int index))
        {
            throw new FormatException($"'{key}' is not a shard key of the form job/index");
        }

        return (key[..slash], index);
    }
}
